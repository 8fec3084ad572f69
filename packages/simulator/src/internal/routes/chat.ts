/** `POST /v1/chat/completions`: JSON, or SSE in random byte slices. */
import type * as Faults from "../../Faults.js"
import { admit } from "../admission.js"
import { type ChatPlan, chatChunks, chatJson, planChat } from "../chat.js"
import { errorBody, invalidJson, streamError } from "../errors.js"
import {
  answerJson,
  type Ctx,
  destroyAfterFlush,
  parseJson,
  sendError,
  sleep,
  startSse,
  streamEol,
  succeed,
  writeSliced
} from "../http.js"

/** Where a stream fault strikes: the index of the event it replaces (-1: none). */
const dropIndex = (ctx: Ctx, fault: Faults.FaultKind | undefined, events: number): number => {
  if (fault !== "streamDrop" && fault !== "streamError") return -1
  ctx.st.countFault(fault)
  return 1 + Math.floor(ctx.st.streamRng() * (events - 1))
}

/** Ends the stream with `event: error` (per `faults.streamErrorCode`), without `[DONE]`. */
const endWithError = async (ctx: Ctx, pending: string, eol: string) => {
  const error = errorBody(streamError(ctx.st.cfg.faults.streamErrorCode))
  await writeSliced(ctx, `${pending}event: error${eol}data: ${error}${eol}${eol}`)
  if (ctx.closed) return
  ctx.intentional = true
  ctx.res.end()
}

/** Cuts the stream in the middle of `frame`. */
const drop = async (ctx: Ctx, pending: string, frame: string) => {
  if (pending !== "") await writeSliced(ctx, pending)
  if (ctx.closed) return
  destroyAfterFlush(ctx, Buffer.from(frame.slice(0, Math.ceil(frame.length / 2)), "utf8"))
}

const streamChat = async (ctx: Ctx, plan: ChatPlan, body: Buffer, fault: Faults.FaultKind | undefined) => {
  const st = ctx.st
  const { requestMs, firstTokenMs, perChunkMs } = st.cfg.latency
  await sleep(requestMs)
  if (ctx.closed) return
  startSse(ctx)
  const maxPer = st.cfg.stream.maxTokensPerChunk
  const events = chatChunks(plan, () => 1 + Math.floor(st.streamRng() * maxPer))
  const eol = streamEol(st)
  const dropAt = dropIndex(ctx, fault, events.length)
  let firstDelay = firstTokenMs
  if (fault === "slowFirstToken") {
    st.countFault(fault)
    firstDelay += st.cfg.faults.slowFirstTokenMs
  }
  let pending = ""
  for (let i = 0; i < events.length; i++) {
    const delay = i === 1 ? firstDelay : i > 1 ? perChunkMs : 0
    if (delay > 0) {
      if (pending !== "") await writeSliced(ctx, pending)
      pending = ""
      await sleep(delay)
    }
    if (ctx.closed) return
    const frame = `data: ${events[i]}${eol}${eol}`
    if (i === dropAt) return fault === "streamError" ? endWithError(ctx, pending, eol) : drop(ctx, pending, frame)
    pending += frame
  }
  pending += `data: [DONE]${eol}${eol}`
  await writeSliced(ctx, pending)
  if (ctx.closed) return
  ctx.res.end()
  st.counters.streamsCompleted++
  st.account(plan.model, plan.promptTokens, plan.completionTokens)
  succeed(ctx, body)
}

export const chat = async (ctx: Ctx, body: Buffer): Promise<void> => {
  const st = ctx.st
  const json = parseJson(body)
  if (json === undefined) return sendError(ctx, invalidJson())
  const plan = planChat(json, st.cfg, Math.floor(st.cfg.clock() / 1000))
  if ("status" in plan) return sendError(ctx, plan)
  const fault = admit(ctx, plan.model, plan.admissionTokens, plan.stream)
  if (fault === "handled") return
  if (plan.stream) return streamChat(ctx, plan, body, fault)
  const { requestMs, firstTokenMs, perChunkMs } = st.cfg.latency
  const chunks = plan.content === undefined ? 1 : Math.ceil(plan.content.length / st.cfg.stream.maxTokensPerChunk)
  await sleep(requestMs + firstTokenMs + perChunkMs * chunks)
  if (ctx.closed) return
  const text = JSON.stringify(chatJson(plan))
  answerJson(ctx, text, fault, body, () => st.account(plan.model, plan.promptTokens, plan.completionTokens))
}
