/** `/v1/batches`: create, list, retrieve, cancel; and the executor that runs a batch's lines. */
import { chatJson, planChat } from "../chat.js"
import { embeddingsJson, planEmbeddings } from "../embeddings.js"
import { drawFault } from "../admission.js"
import { type ApiError, apiError, errorBody, invalidJson, type Json } from "../errors.js"
import { type Ctx, notFound, parseJson, sendError, sendOk } from "../http.js"
import type { State } from "../state.js"
import { Run } from "../responses/run.js"
import type { Executor } from "../store.js"
import { planCreate } from "./responses.js"

const errorResult = (e: ApiError) => ({ status: e.status, body: JSON.parse(errorBody(e)) as Json })

/** Runs one batch line's body through the same planning as its HTTP route (no buckets, faults or latency). */
export const executor =
  (st: State): Executor =>
  (endpoint, body) => {
    if (typeof body !== "object" || body === null || Array.isArray(body)) return errorResult(invalidJson())
    const cfg = st.cfg
    if (endpoint === "/v1/chat/completions") {
      const plan = planChat({ ...(body as Json), stream: false }, cfg, Math.floor(cfg.clock() / 1000))
      if ("status" in plan) return errorResult(plan)
      st.account(plan.model, plan.promptTokens, plan.completionTokens)
      return { status: 200, body: chatJson(plan) }
    }
    if (endpoint === "/v1/responses") {
      const plan = planCreate(st, body as Json, { stream: false, background: false, store: false })
      if ("status" in plan) return errorResult(plan)
      const run = new Run(plan, [])
      run.settle(Math.floor(cfg.clock() / 1000))
      st.account(plan.request.model, plan.usage.input, plan.usage.output)
      return { status: 200, body: run.snapshot }
    }
    const plan = planEmbeddings(body as Json, cfg)
    if ("status" in plan) return errorResult(plan)
    st.account(plan.model, plan.promptTokens, 0)
    st.countEmbedded(plan.model, plan.dimensions, plan.inputs)
    return { status: 200, body: embeddingsJson(plan) }
  }

const create = (ctx: Ctx, body: Buffer) => {
  const json = parseJson(body)
  if (json === undefined) return sendError(ctx, invalidJson())
  const fault = drawFault(ctx, false)
  if (fault === "handled") return
  const batch = ctx.st.store.createBatch(json)
  if ("status" in batch && typeof batch.status === "number") return sendError(ctx, batch as ApiError)
  sendOk(ctx, batch, fault)
}

const list = (ctx: Ctx) => {
  const limitParam = new URLSearchParams(ctx.query).get("limit")
  const limit = limitParam === null ? 20 : Math.max(1, Math.min(100, Number(limitParam) || 20))
  const all = [...ctx.st.store.batches.values()].reverse()
  const data = all.slice(0, limit)
  const page = {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: all.length > limit
  }
  sendOk(ctx, page, undefined)
}

export const batches = (ctx: Ctx, body: Buffer, id: string | undefined, action: string | undefined) => {
  const { method } = ctx
  const store = ctx.st.store
  if (id === undefined && method === "POST") return create(ctx, body)
  if (id === undefined && method === "GET") return list(ctx)
  if (id === undefined) return notFound(ctx)
  if (method === "GET" && action === undefined) {
    const batch = store.batches.get(id)
    if (batch === undefined) {
      return sendError(ctx, apiError(404, `No batch found with id '${id}'.`, "invalid_request_error", null, null))
    }
    return sendOk(ctx, batch, undefined)
  }
  if (method === "POST" && action === "cancel") {
    const batch = store.cancelBatch(id)
    if (typeof batch.status === "number") return sendError(ctx, batch as ApiError)
    return sendOk(ctx, batch, undefined)
  }
  notFound(ctx)
}
