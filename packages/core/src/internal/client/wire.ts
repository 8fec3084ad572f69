/** Building the wire request and reading what came back: no effects on the call's state. Not public. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { type InvalidOptions, InvalidRequest, type OpenAiError } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type { Resolved } from "../../OpenAiConfig.js"
import type * as Http from "../http.js"
import * as Validate from "../validate.js"
import type { CallSpec, Client, ResponseMeta } from "./spec.js"

const textDecoder = new TextDecoder()

export const decodeText = (bytes: Uint8Array): string => textDecoder.decode(bytes)

export const jsonDecoder =
  <S extends Schema.ConstraintDecoder<unknown>>(
    schema: S,
    what: string,
    fast?: (json: unknown) => S["Type"] | undefined
  ) =>
  (bytes: Uint8Array, meta: ResponseMeta): Effect.Effect<S["Type"], OpenAiError> =>
    Validate.response(schema, textDecoder.decode(bytes), { what, ...meta }, fast)

/** A path segment from a caller's id: never empty, always escaped. */
export const segment = (value: string, name: string): Effect.Effect<string, InvalidRequest> =>
  value.length === 0
    ? Effect.fail(new InvalidRequest({ message: `${name} must not be empty`, path: name }))
    : Effect.succeed(encodeURIComponent(value))

/** Drops the key, and the masked key OpenAI echoes in 401 messages ("sk-abc***xyz"), from an error body. */
export const scrub = (text: string, key: Redacted.Redacted<string>): string => {
  const value = Redacted.value(key)
  const exact = value.length >= 4 ? text.split(value).join("[redacted]") : text
  return exact.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, "sk-[redacted]")
}

export const wireRequest = <A>(
  config: Resolved,
  spec: CallSpec<A>,
  key: Redacted.Redacted<string>
): Http.WireRequest => {
  const query = spec.query === undefined ? "" : queryString(spec.query)
  const headers: Record<string, string> = {
    ...config.headers,
    ...spec.options?.headers,
    "user-agent": config.userAgent,
    accept: spec.stream ? "text/event-stream" : "application/json",
    authorization: `Bearer ${Redacted.value(key)}`
  }
  if (config.organization !== undefined) headers["openai-organization"] = config.organization
  if (config.project !== undefined) headers["openai-project"] = config.project
  return {
    method: spec.method,
    url: `${config.baseUrl}${spec.path}${query}`,
    headers,
    body:
      spec.body === undefined
        ? undefined
        : spec.body._tag === "Json"
          ? { _tag: "Json", text: JSON.stringify(spec.body.value) }
          : spec.body
  }
}

const queryString = (query: Readonly<Record<string, string | number | undefined>>): string => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value))
  return search.size === 0 ? "" : `?${search.toString()}`
}

/** What the gates know of a call before it is sent. */
export const callInfo = <A>(spec: CallSpec<A>, keyId: string): Gates.CallInfo => ({
  path: spec.path,
  method: spec.method,
  model: spec.model,
  stream: spec.stream,
  keyId,
  body: spec.infoBody,
  batch: spec.options?.batch ?? false
})

/** Finish reason and model of a chat completion (or any body with `model`), for telemetry. */
export const responseDetails = (body: unknown, requestId: string | undefined): Gates.ResponseDetails => {
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {}
  const choices = Array.isArray(record.choices) ? (record.choices as Array<{ finish_reason?: unknown }>) : []
  // A Response (the Responses API) has a status instead of choices: `incomplete` says why in incomplete_details.
  const incomplete = record.incomplete_details as { reason?: unknown } | null | undefined
  const finishReason = Array.isArray(record.choices)
    ? choices[0]?.finish_reason
    : record.status === "incomplete" && typeof incomplete?.reason === "string"
      ? incomplete.reason
      : record.status
  return {
    requestId,
    finishReason: typeof finishReason === "string" ? finishReason : undefined,
    responseModel: typeof record.model === "string" ? record.model : undefined
  }
}

export const isStream = (body: unknown): boolean =>
  typeof body === "object" && body !== null && (body as { stream?: unknown }).stream === true

/** `server.address` / `server.port` of the base URL (OpenTelemetry's GenAI and HTTP client conventions). */
export const serverAttributes = (
  baseUrl: Result.Result<URL, InvalidRequest | InvalidOptions>
): Record<string, unknown> =>
  Result.isFailure(baseUrl)
    ? {}
    : {
        "server.address": baseUrl.success.hostname,
        "server.port": Number(baseUrl.success.port || (baseUrl.success.protocol === "https:" ? 443 : 80))
      }

export const spanAttributes = <A>(spec: CallSpec<A>, server: Readonly<Record<string, unknown>>) => ({
  ...server,
  "http.request.method": spec.method,
  "openai.path": spec.path,
  ...(spec.model === undefined ? {} : { "gen_ai.request.model": spec.model })
})

/**
 * The call's span, when a tracer is installed. With Effect's default (`Tracer.nativeTracer`, which exports
 * nothing) no span is made: nothing could observe it, and making one (ids, attributes, timing, a context with it
 * as parent) was a measured share of a call's CPU (docs/decisions/0014-call-hot-path.md).
 */
export const traced =
  <A>(name: string, spec: CallSpec<A>, client: Client) =>
  <B, E, R>(effect: Effect.Effect<B, E, R>): Effect.Effect<B, E, R> =>
    Effect.withFiber((fiber) =>
      fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
        ? effect
        : effect.pipe(
            Effect.withSpan(name, { attributes: spanAttributes(spec, client.server) }, { captureStackTrace: false })
          )
    )

/** Timeouts are timers in the transport that abort the request; both start when it reaches the pool. */
export const timeoutsOf = (
  config: Resolved
): { readonly call: Http.SendOptions; readonly stream: Http.SendOptions } => {
  const finiteMs = (duration: Duration.Duration) =>
    Duration.isFinite(duration) ? Duration.toMillis(duration) : undefined
  const headersTimeoutMs = finiteMs(config.headersTimeout)
  // A streamed call has no total timeout here: the stream layer has its own.
  return { call: { headersTimeoutMs, totalTimeoutMs: finiteMs(config.totalTimeout) }, stream: { headersTimeoutMs } }
}
