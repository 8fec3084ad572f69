#!/usr/bin/env node
/**
 * `sluice-simulator`: starts the simulator and prints its base URL.
 *
 * @since 0.1.0
 */
import type { Config, FaultRates } from "./Config.js"
import { spread } from "./Faults.js"
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
  --strict-models
`

const parse = (argv: ReadonlyArray<string>): Config => {
  const config: { -readonly [K in keyof Config]: Config[K] } = {}
  const faults: { -readonly [K in keyof FaultRates]: FaultRates[K] } = {}
  const latency: { requestMs?: number; firstTokenMs?: number; perChunkMs?: number } = {}
  const stream: {
    lineEnding?: "lf" | "crlf" | "mixed"
    noSlicing?: boolean
    minSliceBytes?: number
    maxSliceBytes?: number
  } = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    const num = (): number => {
      const n = Number(value())
      if (!Number.isFinite(n)) throw new Error(`${flag} needs a number`)
      return n
    }
    switch (flag) {
      case "--port":
        config.port = num()
        break
      case "--host":
        config.host = value()
        break
      case "--rpm":
        config.rpm = num()
        break
      case "--tpm":
        config.tpm = num()
        break
      case "--seed":
        config.seed = num()
        break
      case "--keys":
        config.keys = value().split(",")
        break
      case "--quota-usd":
        config.quotaUsd = num()
        break
      case "--fault-rate":
        Object.assign(faults, spread(num()))
        break
      case "--rate-500":
        faults.rate500 = num()
        break
      case "--rate-503":
        faults.rate503 = num()
        break
      case "--rate-502-html":
        faults.rate502Html = num()
        break
      case "--rate-429":
        faults.rate429 = num()
        break
      case "--rate-reset":
        faults.rateReset = num()
        break
      case "--rate-hang":
        faults.rateHang = num()
        break
      case "--rate-truncated-json":
        faults.rateTruncatedJson = num()
        break
      case "--rate-stream-drop":
        faults.rateStreamDrop = num()
        break
      case "--rate-stream-error":
        faults.rateStreamError = num()
        break
      case "--rate-slow-first-token":
        faults.rateSlowFirstToken = num()
        break
      case "--slow-first-token-ms":
        faults.slowFirstTokenMs = num()
        break
      case "--first-token-ms":
        latency.firstTokenMs = num()
        break
      case "--per-chunk-ms":
        latency.perChunkMs = num()
        break
      case "--request-ms":
        latency.requestMs = num()
        break
      case "--line-ending": {
        const v = value()
        if (v !== "lf" && v !== "crlf" && v !== "mixed") throw new Error("--line-ending must be lf, crlf or mixed")
        stream.lineEnding = v
        break
      }
      case "--min-slice-bytes":
        stream.minSliceBytes = num()
        break
      case "--max-slice-bytes":
        stream.maxSliceBytes = num()
        break
      case "--no-slicing":
        stream.noSlicing = true
        break
      case "--strict-models":
        config.strictModels = true
        break
      case "--help":
      case "-h":
        process.stdout.write(usage)
        process.exit(0)
        break
      default:
        throw new Error(`unknown option ${flag}`)
    }
  }
  return { ...config, faults, latency, stream }
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
