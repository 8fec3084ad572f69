/** The bodies of `Faults`: the seeded PRNG and the pure choice of a fault. */
import type { ChooseOptions, FaultKind, FaultRates } from "../Faults.js"

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

/** The rate a kind is drawn at: its field is `rate` and the kind's name capitalised (`rateTruncatedJson`). */
const rateOf = (rates: FaultRates, kind: FaultKind): number =>
  rates[`rate${kind.charAt(0).toUpperCase()}${kind.slice(1)}` as `rate${Capitalize<FaultKind>}`] ?? 0

export const applies = (kind: FaultKind, streaming: boolean): boolean =>
  kind === "streamDrop" || kind === "streamError" || kind === "slowFirstToken" || kind === "responseFailed"
    ? streaming
    : kind === "truncatedJson"
      ? !streaming
      : true

export const choose = (options: ChooseOptions): FaultKind | undefined => {
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
