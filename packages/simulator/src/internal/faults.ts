/** The bodies of `Faults`: the seeded PRNG and the pure choice of a fault. */
import type { FaultKind, FaultRates, ScriptedFault } from "../Faults.js"

export const kinds: ReadonlyArray<FaultKind> = [
  "500",
  "503",
  "502Html",
  "429",
  "reset",
  "hang",
  "truncatedJson",
  "streamDrop",
  "streamError",
  "slowFirstToken",
  "responseFailed"
]

export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const rateOf = (rates: FaultRates, kind: FaultKind): number => {
  switch (kind) {
    case "500":
      return rates.rate500 ?? 0
    case "503":
      return rates.rate503 ?? 0
    case "502Html":
      return rates.rate502Html ?? 0
    case "429":
      return rates.rate429 ?? 0
    case "reset":
      return rates.rateReset ?? 0
    case "hang":
      return rates.rateHang ?? 0
    case "truncatedJson":
      return rates.rateTruncatedJson ?? 0
    case "streamDrop":
      return rates.rateStreamDrop ?? 0
    case "streamError":
      return rates.rateStreamError ?? 0
    case "slowFirstToken":
      return rates.rateSlowFirstToken ?? 0
    case "responseFailed":
      return rates.rateResponseFailed ?? 0
  }
}

export const applies = (kind: FaultKind, streaming: boolean): boolean =>
  kind === "streamDrop" || kind === "streamError" || kind === "slowFirstToken" || kind === "responseFailed"
    ? streaming
    : kind === "truncatedJson"
      ? !streaming
      : true

export const choose = (options: {
  readonly rates: FaultRates
  readonly script: ReadonlyArray<ScriptedFault>
  readonly requestNumber: number
  readonly path: string
  readonly pathRequestNumber: number
  readonly streaming: boolean
  readonly u: number
}): FaultKind | undefined => {
  for (const entry of options.script) {
    const n = entry.path === undefined ? options.requestNumber : options.pathRequestNumber
    if (entry.request === n && (entry.path === undefined || entry.path === options.path)) {
      return applies(entry.fault, options.streaming) ? entry.fault : undefined
    }
  }
  let acc = 0
  for (const kind of kinds) {
    acc += rateOf(options.rates, kind)
    if (options.u < acc) return applies(kind, options.streaming) ? kind : undefined
  }
  return undefined
}

export const spread = (total: number): FaultRates => {
  const each = total / 6
  return {
    rate500: each,
    rate503: each,
    rate502Html: each,
    rateReset: each,
    rateTruncatedJson: each,
    rateStreamDrop: each
  }
}
