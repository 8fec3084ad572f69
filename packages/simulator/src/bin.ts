#!/usr/bin/env node
/**
 * `sluice-simulator`: starts the simulator and prints its base URL.
 *
 * @since 0.1.0
 */
import type { Config, FaultRates } from "./Config.js"
import { spread } from "./Faults.js"
import { type HeaderStyle, headerStyles } from "./RateLimits.js"
import { start as startServer } from "./internal/server.js"

const usage = `Usage: sluice-simulator [options]
  --port N              port on 127.0.0.1 (default 0: ephemeral)
  --host 127.0.0.1      only loopback is allowed
  --rpm N --tpm N       per-key limits per minute (default unlimited)
  --seed N              PRNG seed (default 1)
  --keys a,b            accepted API keys (default: any non-empty key)
  --quota-usd X         answer 429 insufficient_quota after this simulated spend
  --fault-rate X        probability of each of 500, 503, 502 HTML, reset, truncated JSON, stream drop (X/6 each)
  --rate-500 X --rate-503 X --rate-502-html X --rate-429 X --rate-reset X --rate-hang X
  --rate-truncated-json X --rate-stream-drop X --rate-stream-error X --rate-slow-first-token X --slow-first-token-ms N
  --first-token-ms N --per-chunk-ms N --request-ms N
  --line-ending lf|crlf|mixed   --no-slicing   --min-slice-bytes N   --max-slice-bytes N
  --rate-limit-headers openai|scaled-remaining|none|fixed-window   how limits are reported (default openai)
  --rate-response-failed X   --stream-error-code server_error|insufficient_quota|rate_limit_exceeded
  --no-sequence-numbers     /v1/responses events without sequence_number/output_index (as llama.cpp)
  --strict-models
`

/** The config being built, mutable by group. */
interface Draft {
  config: { -readonly [K in keyof Config]: Config[K] }
  faults: { -readonly [K in keyof FaultRates]: FaultRates[K] }
  latency: { requestMs?: number; firstTokenMs?: number; perChunkMs?: number }
  stream: { lineEnding?: "lf" | "crlf" | "mixed"; noSlicing?: boolean; minSliceBytes?: number; maxSliceBytes?: number }
  responses: { sequenceNumbers?: boolean }
}

/** Reads a flag's value: `text()` for a string, `num()` for a finite number. */
interface Reader {
  readonly text: () => string
  readonly num: () => number
}

const oneOf = <A extends string>(flag: string, allowed: ReadonlyArray<A>, v: string): A => {
  if (!allowed.includes(v as A)) throw new Error(`${flag} must be one of ${allowed.join(", ")}`)
  return v as A
}

const rate =
  (key: keyof FaultRates) =>
  (d: Draft, r: Reader): void => {
    ;(d.faults as Record<string, number>)[key] = r.num()
  }

/** Every flag and what it sets. */
const flags: Record<string, (d: Draft, r: Reader, flag: string) => void> = {
  "--port": (d, r) => (d.config.port = r.num()),
  "--host": (d, r) => (d.config.host = r.text()),
  "--rpm": (d, r) => (d.config.rpm = r.num()),
  "--tpm": (d, r) => (d.config.tpm = r.num()),
  "--seed": (d, r) => (d.config.seed = r.num()),
  "--keys": (d, r) => (d.config.keys = r.text().split(",")),
  "--quota-usd": (d, r) => (d.config.quotaUsd = r.num()),
  "--fault-rate": (d, r) => Object.assign(d.faults, spread(r.num())),
  "--rate-500": rate("rate500"),
  "--rate-503": rate("rate503"),
  "--rate-502-html": rate("rate502Html"),
  "--rate-429": rate("rate429"),
  "--rate-reset": rate("rateReset"),
  "--rate-hang": rate("rateHang"),
  "--rate-truncated-json": rate("rateTruncatedJson"),
  "--rate-stream-drop": rate("rateStreamDrop"),
  "--rate-stream-error": rate("rateStreamError"),
  "--rate-slow-first-token": rate("rateSlowFirstToken"),
  "--slow-first-token-ms": rate("slowFirstTokenMs"),
  "--first-token-ms": (d, r) => (d.latency.firstTokenMs = r.num()),
  "--per-chunk-ms": (d, r) => (d.latency.perChunkMs = r.num()),
  "--request-ms": (d, r) => (d.latency.requestMs = r.num()),
  "--line-ending": (d, r, f) => (d.stream.lineEnding = oneOf(f, ["lf", "crlf", "mixed"], r.text())),
  "--min-slice-bytes": (d, r) => (d.stream.minSliceBytes = r.num()),
  "--max-slice-bytes": (d, r) => (d.stream.maxSliceBytes = r.num()),
  "--no-slicing": (d) => (d.stream.noSlicing = true),
  "--rate-limit-headers": (d, r, f) => (d.config.headers = { style: oneOf<HeaderStyle>(f, headerStyles, r.text()) }),
  "--rate-response-failed": rate("rateResponseFailed"),
  "--stream-error-code": (d, r, f) =>
    (d.faults.streamErrorCode = oneOf(f, ["server_error", "insufficient_quota", "rate_limit_exceeded"], r.text())),
  "--no-sequence-numbers": (d) => (d.responses.sequenceNumbers = false),
  "--strict-models": (d) => (d.config.strictModels = true)
}

const parse = (argv: ReadonlyArray<string>): Config => {
  const d: Draft = { config: {}, faults: {}, latency: {}, stream: {}, responses: {} }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === "--help" || flag === "-h") {
      process.stdout.write(usage)
      process.exit(0)
    }
    const set = flags[flag]
    if (set === undefined) throw new Error(`unknown option ${flag}`)
    const text = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    const num = (): number => {
      const n = Number(text())
      if (!Number.isFinite(n)) throw new Error(`${flag} needs a number`)
      return n
    }
    set(d, { text, num }, flag)
  }
  return { ...d.config, faults: d.faults, latency: d.latency, stream: d.stream, responses: d.responses }
}

const main = async () => {
  let config: Config
  try {
    config = parse(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}`)
    process.exit(2)
  }
  const server = await startServer(config).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  })
  process.stdout.write(`${server.url}\n`)
  const stop = () => {
    server.close().then(() => process.exit(0))
  }
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
}

main()
