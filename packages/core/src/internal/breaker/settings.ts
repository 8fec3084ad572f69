/**
 * The breaker's options with their defaults filled in, and the fuse key of a scope.
 *
 * @internal
 */
import type { OpenAiError } from "../../Errors.js"
import type { Options } from "../../CircuitBreaker.js"

export interface Settings {
  readonly windowMs: number
  /** One of the window's 60 slots. */
  readonly slotMs: number
  readonly failureRate: number
  readonly minimumCalls: number
  readonly openMs: number
  readonly tripOn: ReadonlySet<string>
  readonly fuseOn: ReadonlySet<string>
  readonly halfOpenProbes: number
  readonly probeWaitMs: number
  readonly fuseKey: (scope: string) => string
}

/** See `CircuitBreaker.keyOfScope`. */
export const keyOfScope = (scope: string): string => {
  const fingerprint = /^sha256:[0-9a-f]+/.exec(scope)
  return fingerprint !== null ? fingerprint[0] : (scope.split(":")[0] ?? scope)
}

const defaultTripOn: ReadonlyArray<OpenAiError["_tag"]> = ["RateLimited"]
const defaultFuseOn: ReadonlyArray<OpenAiError["_tag"]> = ["QuotaExceeded", "AuthenticationFailed"]

export const settingsOf = (options: Options): Settings => {
  const windowMs = options.windowMs ?? 60_000
  return {
    windowMs,
    slotMs: Math.max(1, Math.floor(windowMs / 60)),
    failureRate: options.failureRate ?? 0.1,
    minimumCalls: options.minimumCalls ?? 20,
    openMs: options.openMs ?? 60_000,
    tripOn: new Set<string>(options.tripOn ?? defaultTripOn),
    fuseOn: new Set<string>(options.fuseOn ?? defaultFuseOn),
    halfOpenProbes: options.halfOpenProbes ?? 1,
    probeWaitMs: options.probeWaitMs ?? 1000,
    fuseKey: options.fuseKey ?? keyOfScope
  }
}
