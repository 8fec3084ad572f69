/**
 * `sluice simulate`: the simulator in the foreground until Ctrl-C.
 *
 * @internal
 */
import { type Config, Faults, Simulator } from "@sluice/simulator"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { SimulateFlags } from "./check.js"

export type { SimulateFlags } from "./check.js"

/** @internal */
export const simulate = (flags: SimulateFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const faults: Config.FaultRates =
      flags.faults === undefined
        ? {}
        : typeof flags.faults === "number"
          ? Faults.spread(flags.faults)
          : (flags.faults as Config.FaultRates)
    const server = yield* Effect.tryPromise(() =>
      Simulator.startServer({
        port: flags.port,
        faults,
        ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }),
        ...(flags.tpm === undefined ? {} : { tpm: flags.tpm }),
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
        ...(flags.quotaUsd === undefined ? {} : { quotaUsd: flags.quotaUsd }),
        ...(flags.keys === undefined ? {} : { keys: [...flags.keys] })
      })
    ).pipe(Effect.result)
    if (Result.isFailure(server)) {
      process.stderr.write(
        `sluice simulate: cannot start the simulator on 127.0.0.1:${flags.port} (${String(server.failure.cause)}): pick another --port (0 picks a free one). Nothing was started.\n`
      )
      return 1
    }
    const running = server.success
    process.stdout.write(
      `simulator listening on ${running.url} (Ctrl-C to stop)\n` +
        `  try: OPENAI_API_KEY=sk-sim OPENAI_BASE_URL=${running.url} sluice chat "hello"\n` +
        `  stats: curl ${running.url.replace(/\/v1$/, "")}/__sim/stats\n`
    )
    yield* Effect.callback<void>((resume) => {
      const stop = () => resume(Effect.void)
      process.once("SIGINT", stop)
      process.once("SIGTERM", stop)
      return Effect.sync(() => {
        process.off("SIGINT", stop)
        process.off("SIGTERM", stop)
      })
    })
    const stats = running.stats()
    yield* Effect.promise(() => running.close())
    process.stdout.write(
      `stopped; served ${stats.requests} requests (${stats.successes} ok, ${stats.rateLimited} rate limited)\n`
    )
    return 0
  })
