/** The bodies of `Config`: defaults, merging and prices. */
import type { Config, HeaderSwitches, Resolved, StreamOptions } from "../Config.js"
import type { FaultRates } from "../Faults.js"
import { headerStyles } from "./rateLimits.js"

export const defaultRetiredModels: ReadonlyArray<string> = [
  "gpt-3.5-turbo-0301",
  "gpt-3.5-turbo-0613",
  "gpt-4-0314",
  "gpt-4-32k-0314",
  "text-davinci-003",
  "text-davinci-002",
  "code-davinci-002",
  "text-ada-001"
]

export const prices: Readonly<Record<string, { readonly input: number; readonly output: number }>> = {
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
  o3: { input: 2, output: 8 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "text-embedding-3-small": { input: 0.02, output: 0 },
  "text-embedding-3-large": { input: 0.13, output: 0 },
  "text-embedding-ada-002": { input: 0.1, output: 0 }
}

export const merge = (base: Config, patch: Config): Config => ({
  ...base,
  ...patch,
  headers: { ...base.headers, ...patch.headers },
  latency: { ...base.latency, ...patch.latency },
  stream: { ...base.stream, ...patch.stream },
  faults: { ...base.faults, ...patch.faults },
  batch: { ...base.batch, ...patch.batch },
  responses: { ...base.responses, ...patch.responses }
})

const positiveOrUndefined = (n: number | undefined): number | undefined =>
  n === undefined || !Number.isFinite(n) || n <= 0 ? undefined : n

const resolveHeaders = (h: HeaderSwitches): Required<HeaderSwitches> => {
  const style = h.style ?? "openai"
  if (!headerStyles.includes(style)) {
    throw new Error(`headers.style must be one of ${headerStyles.join(", ")}, not ${String(style)}`)
  }
  const hinted = style !== "none"
  return {
    style,
    rateLimit: hinted && (h.rateLimit ?? true),
    retryAfter: h.retryAfter ?? hinted,
    retryAfterMs: h.retryAfterMs ?? hinted
  }
}

const resolveStream = (s: StreamOptions): Required<StreamOptions> => {
  const minSlice = Math.max(1, Math.floor(s.minSliceBytes ?? 1))
  return {
    lineEnding: s.lineEnding ?? "mixed",
    minSliceBytes: minSlice,
    maxSliceBytes: Math.max(minSlice, Math.floor(s.maxSliceBytes ?? 512)),
    noSlicing: s.noSlicing ?? false,
    maxTokensPerChunk: Math.max(1, Math.floor(s.maxTokensPerChunk ?? 3))
  }
}

const resolveFaults = (f: FaultRates): Required<FaultRates> => ({
  rate500: f.rate500 ?? 0,
  rate503: f.rate503 ?? 0,
  rate502Html: f.rate502Html ?? 0,
  rate429: f.rate429 ?? 0,
  rateReset: f.rateReset ?? 0,
  rateHang: f.rateHang ?? 0,
  rateTruncatedJson: f.rateTruncatedJson ?? 0,
  rateStreamDrop: f.rateStreamDrop ?? 0,
  rateStreamError: f.rateStreamError ?? 0,
  rateSlowFirstToken: f.rateSlowFirstToken ?? 0,
  rateResponseFailed: f.rateResponseFailed ?? 0,
  streamErrorCode: f.streamErrorCode ?? "server_error",
  slowFirstTokenMs: f.slowFirstTokenMs ?? 2000,
  shouldRetryHeader: f.shouldRetryHeader ?? false
})

/** The timing groups: latency (all 0), batch lifecycle (20 ms each), responses. */
const resolveTiming = (config: Config) => ({
  latency: {
    requestMs: config.latency?.requestMs ?? 0,
    firstTokenMs: config.latency?.firstTokenMs ?? 0,
    perChunkMs: config.latency?.perChunkMs ?? 0
  },
  batch: {
    validatingMs: config.batch?.validatingMs ?? 20,
    inProgressMs: config.batch?.inProgressMs ?? 20,
    finalizingMs: config.batch?.finalizingMs ?? 20
  },
  responses: {
    sequenceNumbers: config.responses?.sequenceNumbers ?? true,
    backgroundQueueMs: config.responses?.backgroundQueueMs ?? 20,
    maxStored: Math.max(1, Math.floor(config.responses?.maxStored ?? 10_000))
  }
})

export const resolve = (config: Config): Resolved => {
  const host = config.host ?? "127.0.0.1"
  if (host !== "127.0.0.1") throw new Error(`@sluice/simulator only listens on 127.0.0.1, not ${host}`)
  const models = config.models ?? Object.keys(prices)
  const timing = resolveTiming(config)
  return {
    port: config.port ?? 0,
    host,
    seed: config.seed ?? 1,
    keys: config.keys === undefined ? undefined : new Set(config.keys),
    revoke: config.revoke ?? [],
    rpm: positiveOrUndefined(config.rpm),
    tpm: positiveOrUndefined(config.tpm),
    defaultMaxTokens: config.defaultMaxTokens ?? 16,
    headers: resolveHeaders(config.headers ?? {}),
    latency: timing.latency,
    stream: resolveStream(config.stream ?? {}),
    faults: resolveFaults(config.faults ?? {}),
    script: config.script ?? [],
    quotaUsd: config.quotaUsd,
    models,
    modelSet: new Set(models),
    retiredModels: new Set(config.retiredModels ?? defaultRetiredModels),
    strictModels: config.strictModels ?? false,
    batch: timing.batch,
    responses: timing.responses,
    clock: config.clock ?? Date.now
  }
}

export const priceOf = (model: string, promptTokens: number, completionTokens: number): number => {
  const p = prices[model] ?? prices["gpt-4o-mini"]!
  return (promptTokens * p.input + completionTokens * p.output) / 1_000_000
}
