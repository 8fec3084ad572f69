/** `GET /v1/models`, `GET /v1/models/{id}`. */
import { drawFault } from "../admission.js"
import { modelNotFound } from "../errors.js"
import { type Ctx, notFound, sendError, sendOk } from "../http.js"

const modelObject = (id: string) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" })

export const models = (ctx: Ctx, id: string | undefined, action: string | undefined) => {
  const cfg = ctx.st.cfg
  if (ctx.method !== "GET" || action !== undefined) return notFound(ctx)
  if (id !== undefined && (cfg.retiredModels.has(id) || !cfg.modelSet.has(id))) {
    return sendError(ctx, modelNotFound(id, cfg.retiredModels.has(id)))
  }
  const fault = drawFault(ctx, false)
  if (fault === "handled") return
  sendOk(ctx, id === undefined ? { object: "list", data: cfg.models.map(modelObject) } : modelObject(id), fault)
}
