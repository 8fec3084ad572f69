/** Cold start: one chat completion with every gate (`OpenAi.layerConfig()`), from process start to the answer. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { OpenAi } from "@sluice/core"
import * as Effect from "effect/Effect"
import { program } from "./coldProgram.js"

program.pipe(Effect.provide(OpenAi.layerConfig()), NodeRuntime.runMain)
