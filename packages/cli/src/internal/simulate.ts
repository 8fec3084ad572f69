/**
 * `sluice simulate`: the simulator in the foreground until Ctrl-C.
 *
 * @internal
 */
import { type Config, Faults, Simulator } from "@sluice/simulator"
import { Effect, Result } from "effect"

/** @internal */
export interface SimulateFlags {
  readonly port: number
  readonly rpm?: number | undefined
  readonly tpm?: number | undefined
  readonly faults?: string | undefined
  readonly seed?: number | undefined
  readonly quotaUsd?: number | undefined
  readonly keys?: string | undefined
}

const kinds: Record<string, string> = {
  "500": "rate500",
  "503": "rate503",
  "502": "rate502Html",
  "502html": "rate502Html",
  "429": "rate429",
  reset: "rateReset",
  hang: "rateHang",
  truncated: "rateTruncatedJson",
  truncatedjson: "rateTruncatedJson",
  drop: "rateStreamDrop",
  streamdrop: "rateStreamDrop",
  slow: "rateSlowFirstToken"
}

/**
 * `"0.05"` spreads 5 % over 500, 503, 502 HTML, reset, truncated JSON and stream drop; `"500=0.02,reset=0.01"`
 * sets kinds one by one.
 *
 * @internal
 */
export const parseFaults = (text: string): Config.FaultRates | string => {
  const total = Number(text)
  if (text.trim() !== "" && Number.isFinite(total)) return Faults.spread(total)
  const faults: Record<string, number> = {}
  for (const part of text.split(",")) {
    const [kind, value] = part.split("=")
    const key = kinds[(kind ?? "").trim().toLowerCase()]
    const rate = Number(value)
    if (key === undefined || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      return `--faults: cannot read "${part}"; use a total rate like 0.05 or kind=rate pairs with kinds ${Object.keys(kinds).join(", ")}`
    }
    faults[key] = rate
  }
  return faults
}

/** @internal */
export const simulate = (flags: SimulateFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const faults = flags.faults === undefined ? {} : parseFaults(flags.faults)
    if (typeof faults === "string") {
      process.stderr.write(`${faults}\n`)
      return 1
    }
    const server = yield* Effect.tryPromise(() =>
      Simulator.startServer({
        port: flags.port,
        faults,
        ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }),
        ...(flags.tpm === undefined ? {} : { tpm: flags.tpm }),
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
        ...(flags.quotaUsd === undefined ? {} : { quotaUsd: flags.quotaUsd }),
        ...(flags.keys === undefined ? {} : { keys: flags.keys.split(",") })
      })
    ).pipe(Effect.result)
    if (Result.isFailure(server)) {
      process.stderr.write(
        `cannot start the simulator on 127.0.0.1:${flags.port} (${String(server.failure.cause)}): pick another --port\n`
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
