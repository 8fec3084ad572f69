/** `/__sim/*`: stats, reset and config for tests and the bin (no auth, not counted). */
import type * as Config from "../../Config.js"
import { apiError, errorBody, invalidJson } from "../errors.js"
import { type Ctx, parseJson, readBody } from "../http.js"

export const control = async (ctx: Ctx): Promise<void> => {
  const st = ctx.st
  const body = await readBody(ctx.req)
  const reply = (code: number, value: unknown) => {
    const text = JSON.stringify(value)
    ctx.res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
    ctx.res.end(text)
  }
  if (ctx.method === "GET" && ctx.path === "/__sim/stats") return reply(200, st.counters.snapshot())
  if (ctx.method === "POST" && ctx.path === "/__sim/reset") {
    st.reset()
    return reply(200, { ok: true })
  }
  if (ctx.method === "POST" && ctx.path === "/__sim/config") {
    const patch = parseJson(body)
    if (patch === undefined) return reply(400, JSON.parse(errorBody(invalidJson())))
    st.update(patch as Config.Config)
    return reply(200, { ok: true })
  }
  reply(404, JSON.parse(errorBody(apiError(404, `Invalid URL (${ctx.method} ${ctx.path})`))))
}
