/**
 * Cold start as a serverless function ships Sluice: one chat completion with every gate (`OpenAi.layerConfig()`) on
 * the fetch transport (`Transport.layerFetch()`, so undici is neither loaded nor, once bundled, in the entry
 * chunk), run by `Effect.runPromise` as a handler would; from process start to the answer.
 */
import { OpenAi, Transport } from "@sluice/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { program } from "./coldProgram.js"

const client = OpenAi.layerConfig().pipe(Layer.provide(Transport.layerFetch()))

await Effect.runPromise(program.pipe(Effect.provide(client)))
