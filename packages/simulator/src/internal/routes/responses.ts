/**
 * `/v1/responses`: create (JSON, SSE, background), retrieve (JSON, or a background stream resumed `starting_after`
 * a sequence number), cancel, delete, and `POST /v1/responses/input_tokens`.
 */
import { admit, drawFault } from "../admission.js"
import { type ApiError, apiError, checkModel, invalidJson, type Json } from "../errors.js"
import {
  answerJson,
  type Ctx,
  destroyAfterFlush,
  notFound,
  parseJson,
  sendError,
  sendOk,
  sleep,
  startSse,
  streamEol,
  succeed,
  writeSliced
} from "../http.js"
import type { State } from "../state.js"
import { frame, responseEvents } from "../responses/events.js"
import { type Context, type Plan, planResponse } from "../responses/plan.js"
import { type Request, readRequest } from "../responses/request.js"
import { Run } from "../responses/run.js"

const notFoundResponse = (id: string): ApiError =>
  apiError(404, `Response with id '${id}' not found.`, "invalid_request_error", null, null)

/** Validates and plans a create request (also used by batches and input_tokens). */
export const planCreate = (st: State, body: Json, forced?: Partial<Request>): ApiError | Plan => {
  const model = checkModel(body, st.cfg)
  if (typeof model !== "string") return model
  const parsed = readRequest(body, model)
  if ("status" in parsed) return parsed
  const req = forced === undefined ? parsed : { ...parsed, ...forced }
  let previous: Context | undefined
  if (req.previousResponseId !== undefined) {
    const run = st.responses.get(req.previousResponseId)
    if (run === undefined) {
      return apiError(
        400,
        `Previous response with id '${req.previousResponseId}' not found.`,
        "invalid_request_error",
        "previous_response_id",
        "previous_response_not_found"
      )
    }
    previous = run.plan.context
  }
  return planResponse(req, previous, Math.floor(st.cfg.clock() / 1000), st.cfg.defaultMaxTokens)
}

const seconds = (st: State) => Math.floor(st.cfg.clock() / 1000)

/** Streams a run's events after `after` as they appear; `drop` cuts the connection mid-stream (a fault). */
const follow = async (ctx: Ctx, run: Run, after: number, drop: boolean, body: Buffer | undefined) => {
  const st = ctx.st
  startSse(ctx)
  const eol = streamEol(st)
  const indexes = st.cfg.responses.sequenceNumbers
  const dropAt = drop ? after + 2 + Math.floor(st.streamRng() * Math.max(1, run.all.length - after - 3)) : -1
  if (drop) st.countFault("streamDrop")
  let next = after + 1
  for (;;) {
    let pending = ""
    for (; next < run.events.length; next++) {
      const text = frame(run.events[next]!, next, eol, indexes)
      if (next === dropAt) {
        if (pending !== "") await writeSliced(ctx, pending)
        if (!ctx.closed) destroyAfterFlush(ctx, Buffer.from(text.slice(0, Math.ceil(text.length / 2)), "utf8"))
        return
      }
      pending += text
    }
    if (pending !== "") await writeSliced(ctx, pending)
    if (ctx.closed) return
    if (next < run.events.length) continue
    if (run.done) break
    await run.changed()
  }
  ctx.res.end()
  if (run.status === "completed" || run.status === "incomplete") {
    st.counters.streamsCompleted++
    const { model } = run.plan.request
    if (!run.plan.request.background) st.account(model, run.plan.usage.input, run.plan.usage.output)
    succeed(ctx, body)
  } else ctx.intentional = true // failed or cancelled: a clean end without a success
}

const respondJson = async (ctx: Ctx, plan: Plan, fault: ReturnType<typeof admit>, body: Buffer) => {
  const st = ctx.st
  const { requestMs, firstTokenMs, perChunkMs } = st.cfg.latency
  const deltas = Math.ceil(plan.usage.output / st.cfg.stream.maxTokensPerChunk)
  await sleep(requestMs + firstTokenMs + perChunkMs * deltas)
  if (ctx.closed || fault === "handled") return
  const run = new Run(plan, [])
  run.settle(seconds(st))
  answerJson(ctx, JSON.stringify(run.snapshot), fault, body, () => {
    st.account(plan.request.model, plan.usage.input, plan.usage.output)
    if (plan.request.store) st.storeResponse(plan.id, run)
  })
}

const create = async (ctx: Ctx, body: Buffer) => {
  const st = ctx.st
  const json = parseJson(body)
  if (json === undefined) return sendError(ctx, invalidJson())
  const plan = planCreate(st, json)
  if ("status" in plan) return sendError(ctx, plan)
  const req = plan.request
  const fault = admit(ctx, req.model, plan.admissionTokens, req.stream || req.background)
  if (fault === "handled") return
  if (!req.stream && !req.background) return respondJson(ctx, plan, fault, body)
  await sleep(st.cfg.latency.requestMs)
  if (ctx.closed) return
  const maxPer = st.cfg.stream.maxTokensPerChunk
  const run = new Run(
    plan,
    responseEvents(plan, () => 1 + Math.floor(st.streamRng() * maxPer), seconds(st))
  )
  if (req.store) st.storeResponse(plan.id, run)
  void run.start(st, fault)
  if (!req.stream) return answerJson(ctx, JSON.stringify(run.snapshot), undefined, body)
  await follow(ctx, run, -1, fault === "streamDrop", body)
  if (req.background) return
  if (!run.done) {
    run.cancel() // a foreground stream stops with its client
    st.responses.delete(plan.id)
  } else run.compact() // only background streams can be resumed: a stored foreground one keeps its object only
}

const retrieve = async (ctx: Ctx, run: Run) => {
  const q = new URLSearchParams(ctx.query)
  if (q.get("stream") !== "true") {
    const fault = drawFault(ctx, false)
    if (fault === "handled") return
    return sendOk(ctx, run.snapshot, fault)
  }
  if (!run.plan.request.background) {
    return sendError(
      ctx,
      apiError(
        400,
        "This response cannot be streamed because it was not created with background=true.",
        "invalid_request_error",
        "stream"
      )
    )
  }
  const raw = q.get("starting_after")
  const after = raw === null ? -1 : Number(raw)
  if (!Number.isInteger(after) || after < -1) {
    return sendError(
      ctx,
      apiError(
        400,
        `Invalid 'starting_after': expected an integer, but got '${raw}'.`,
        "invalid_request_error",
        "starting_after",
        "invalid_type"
      )
    )
  }
  const fault = drawFault(ctx, true)
  if (fault === "handled") return
  await follow(ctx, run, after, fault === "streamDrop", undefined)
}

const inputTokens = (ctx: Ctx, body: Buffer) => {
  const st = ctx.st
  const json = parseJson(body)
  if (json === undefined) return sendError(ctx, invalidJson())
  const plan = planCreate(st, { model: st.cfg.models[0] ?? "gpt-4o-mini", ...json })
  if ("status" in plan) return sendError(ctx, plan)
  const fault = drawFault(ctx, false)
  if (fault === "handled") return
  sendOk(ctx, { object: "response.input_tokens", input_tokens: plan.usage.input }, fault)
}

export const responses = (ctx: Ctx, body: Buffer, id: string | undefined, action: string | undefined) => {
  const { method } = ctx
  if (id === undefined) return method === "POST" ? create(ctx, body) : notFound(ctx)
  if (id === "input_tokens" && action === undefined) return method === "POST" ? inputTokens(ctx, body) : notFound(ctx)
  const run = ctx.st.responses.get(id)
  const known = (method === "GET" || method === "DELETE") && action === undefined
  if (!known && !(method === "POST" && action === "cancel")) return notFound(ctx)
  if (run === undefined) return sendError(ctx, notFoundResponse(id))
  if (method === "GET") return retrieve(ctx, run)
  if (method === "DELETE") {
    run.cancel()
    ctx.st.responses.delete(id)
    return sendOk(ctx, { id, object: "response", deleted: true }, undefined)
  }
  if (!run.plan.request.background) {
    return sendError(
      ctx,
      apiError(400, "Only responses created with background=true can be cancelled.", "invalid_request_error", null)
    )
  }
  run.cancel()
  sendOk(ctx, run.snapshot, undefined)
}
