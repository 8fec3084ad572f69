/**
 * The body of `OpenAi.make`: the client's context read once (configuration, credentials, gates, transport), the
 * base URL checked once, and the endpoints over the resulting `Client`. Not public.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { Credentials } from "../../Credentials.js"
import type { InvalidOptions, InvalidRequest } from "../../Errors.js"
import * as Gates from "../../Gates.js"
import type { Service } from "../../OpenAi.js"
import { OpenAiConfig } from "../../OpenAiConfig.js"
import { checkBaseUrl } from "../config.js"
import * as GatesInternal from "../gates/call.js"
import * as Http from "../http.js"
import * as Endpoints from "./endpoints.js"
import type { Client } from "./spec.js"
import { serverAttributes, timeoutsOf } from "./wire.js"

export const make: Effect.Effect<Service, never, OpenAiConfig | Credentials | Scope.Scope> = Effect.gen(function* () {
  const config = yield* OpenAiConfig
  const credentials = yield* Credentials
  // Without `Gates` in the context: the pass-through `Gates.none` is made of.
  const gates = Option.getOrElse(yield* Effect.serviceOption(Gates.Gates), () => GatesInternal.none)
  // The `Transport` of the context, or undici with the configuration's pool and proxy.
  const transport = yield* Http.fromContext(config)
  // A configuration out of range (`OpenAiConfig.validate`) or a refused base URL fails every call, before sending.
  const baseUrl = yield* Effect.result(
    config.invalid === undefined ? checkBaseUrl(config) : Effect.fail<InvalidRequest | InvalidOptions>(config.invalid)
  )
  const timeouts = timeoutsOf(config)
  const client: Client = {
    config,
    credentials,
    gates,
    transport,
    baseUrl,
    server: serverAttributes(baseUrl),
    callTimeouts: timeouts.call,
    streamTimeouts: timeouts.stream
  }
  return { config, ...Endpoints.service(client) }
})
