/**
 * What an endpoint tells the call path about one call (`CallSpec`), and what the call path shares between
 * attempts (`Client`). Not public. An endpoint family is a module that turns its requests into `CallSpec`s and
 * hands them to `call` (one response) or `stream` (a body read by the caller): see docs/call-flow.md.
 */
import type * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import type { Credentials } from "../../Credentials.js"
import type { InvalidOptions, InvalidRequest, OpenAiError } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type { CallOptions } from "../../OpenAi.js"
import type { Resolved } from "../../OpenAiConfig.js"
import type * as Usage from "../../Usage.js"
import type * as Http from "../http.js"
import { isStream } from "./wire.js"

export type Body =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Multipart"; readonly parts: ReadonlyArray<Http.Part> }
  | undefined

export interface ResponseMeta {
  readonly status: number
  readonly requestId: string | undefined
}

export interface CallSpec<A> {
  readonly method: "GET" | "POST" | "DELETE"
  /** Path below the base URL, e.g. `/chat/completions`. */
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | undefined>> | undefined
  readonly body: Body
  readonly model: string | undefined
  /** What the gates see as the request body (for token estimates). */
  readonly infoBody: unknown
  /** Whether the call streams its response (`accept: text/event-stream`, the gates' `stream` flag). */
  readonly stream: boolean
  readonly decode: (bytes: Uint8Array, meta: ResponseMeta) => Effect.Effect<A, OpenAiError>
  readonly usage: (body: A) => Usage.Usage | undefined
  readonly options: CallOptions | undefined
}

/** Everything a call needs from the client it runs in. */
export interface Client {
  readonly config: Resolved
  readonly credentials: Credentials["Service"]
  readonly gates: Gates.Gates["Service"]
  readonly transport: Http.Transport
  /** The base URL, or why every call fails before sending (an option out of range, a refused URL). */
  readonly baseUrl: Result.Result<URL, InvalidRequest | InvalidOptions>
  /** `server.address` / `server.port` for spans. */
  readonly server: Readonly<Record<string, unknown>>
  readonly callTimeouts: Http.SendOptions
  readonly streamTimeouts: Http.SendOptions
}

const noUsage = (): Usage.Usage | undefined => undefined

/** A spec from its parts; a call without a body or a model says so by leaving them out. */
export const spec = <A>(
  method: CallSpec<A>["method"],
  path: string,
  decode: CallSpec<A>["decode"],
  options: CallOptions | undefined,
  extra: Partial<Pick<CallSpec<A>, "query" | "body" | "model" | "infoBody" | "usage" | "stream">> = {}
): CallSpec<A> => ({
  method,
  path,
  query: extra.query,
  body: extra.body,
  model: extra.model,
  infoBody: extra.infoBody,
  stream: extra.stream ?? isStream(extra.infoBody),
  decode,
  usage: extra.usage ?? noUsage,
  options
})
