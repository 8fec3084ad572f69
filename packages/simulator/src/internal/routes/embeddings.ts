/** `POST /v1/embeddings`. */
import { admit } from "../admission.js"
import { embeddingsJson, planEmbeddings } from "../embeddings.js"
import { invalidJson } from "../errors.js"
import { answerJson, type Ctx, parseJson, sendError, sleep } from "../http.js"

export const embeddings = async (ctx: Ctx, body: Buffer): Promise<void> => {
  const st = ctx.st
  const json = parseJson(body)
  if (json === undefined) return sendError(ctx, invalidJson())
  const plan = planEmbeddings(json, st.cfg)
  if ("status" in plan) return sendError(ctx, plan)
  const fault = admit(ctx, plan.model, plan.promptTokens, false)
  if (fault === "handled") return
  await sleep(st.cfg.latency.requestMs)
  if (ctx.closed) return
  const text = JSON.stringify(embeddingsJson(plan))
  answerJson(ctx, text, fault, body, () => {
    st.account(plan.model, plan.promptTokens, 0)
    st.countEmbedded(plan.model, plan.dimensions, plan.inputs)
  })
}
