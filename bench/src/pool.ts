/**
 * What every client runner shares: the outcome counters and the minimal promise worker pool.
 */

export interface Outcome {
  ok: number
  failed: number
  readonly errors: Record<string, number>
}

export interface Runner {
  /** Sends requests `from .. from + n - 1`. */
  readonly run: (from: number, n: number, concurrency: number) => Promise<Outcome>
  readonly close: () => Promise<void>
}

export const newOutcome = (): Outcome => ({ ok: 0, failed: 0, errors: {} })

export const fail = (outcome: Outcome, reason: string) => {
  outcome.failed++
  outcome.errors[reason] = (outcome.errors[reason] ?? 0) + 1
}

/** `concurrency` loops pulling the next index: the least overhead a promise client can have. */
export const pool = async (from: number, n: number, concurrency: number, one: (i: number) => Promise<void>) => {
  let next = from
  const end = from + n
  const loop = async () => {
    while (next < end) await one(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, loop))
}

export const errorName = (e: unknown): string => {
  const status = (e as { status?: unknown } | null)?.status
  if (typeof status === "number") return `HTTP ${status}`
  if (e instanceof Error) return e.constructor.name
  return String(e)
}
