/** `/v1/files`: upload (multipart), list, retrieve, content, delete; in memory. */
import { drawFault } from "../admission.js"
import { apiError, missingParam } from "../errors.js"
import { baseHeaders, type Ctx, notFound, sendError, sendOk, succeed, writeHead } from "../http.js"

const parseForm = async (contentType: string, body: Buffer): Promise<FormData | undefined> => {
  try {
    return await new Request("http://127.0.0.1/", {
      method: "POST",
      headers: { "content-type": contentType },
      body: new Uint8Array(body) as Uint8Array<ArrayBuffer>
    }).formData()
  } catch {
    return undefined
  }
}

const upload = async (ctx: Ctx, body: Buffer) => {
  const contentType = ctx.req.headers["content-type"] ?? ""
  if (!contentType.startsWith("multipart/form-data")) {
    return sendError(ctx, apiError(400, "Expected a multipart/form-data body.", "invalid_request_error"))
  }
  const form = await parseForm(contentType, body)
  if (form === undefined) {
    return sendError(ctx, apiError(400, "Could not parse the multipart form.", "invalid_request_error"))
  }
  const purpose = form.get("purpose")
  const file = form.get("file")
  if (typeof purpose !== "string") return sendError(ctx, missingParam("purpose"))
  if (file === null || typeof file === "string") return sendError(ctx, missingParam("file"))
  const fault = drawFault(ctx, false)
  if (fault === "handled") return
  const stored = ctx.st.store.addFile(file.name, purpose, Buffer.from(await file.arrayBuffer()))
  sendOk(ctx, stored.meta, fault)
}

const content = (ctx: Ctx, bytes: Buffer) => {
  const h = baseHeaders(ctx, "application/octet-stream")
  h["content-length"] = bytes.length
  writeHead(ctx, 200, h)
  ctx.res.end(bytes)
  succeed(ctx, undefined)
}

export const files = async (
  ctx: Ctx,
  body: Buffer,
  id: string | undefined,
  action: string | undefined
): Promise<void> => {
  const { method } = ctx
  const store = ctx.st.store
  if (id === undefined && method === "POST") return upload(ctx, body)
  if (id === undefined && method === "GET") {
    return sendOk(
      ctx,
      { object: "list", data: [...store.files.values()].map((f) => f.meta), has_more: false },
      undefined
    )
  }
  if (id === undefined) return notFound(ctx)
  const file = store.files.get(id)
  if (file === undefined) {
    return sendError(ctx, apiError(404, `No such File object: ${id}`, "invalid_request_error", "id", null))
  }
  if (method === "GET" && action === undefined) return sendOk(ctx, file.meta, undefined)
  if (method === "GET" && action === "content") return content(ctx, file.content)
  if (method === "DELETE" && action === undefined) {
    store.files.delete(id)
    return sendOk(ctx, { id, object: "file", deleted: true }, undefined)
  }
  notFound(ctx)
}
