/**
 * What a waiting command is waiting for, on stderr: a `Gates` decorator follows every attempt of the client (gate
 * admission, request sent, response headers, first token), and a ticker says every 10 s what the command is still
 * waiting for and since when. Also why `sluice batch`'s attempts were retried and failed (`layerReasons`, outside
 * `Batch.layerMeter`, which counts the attempts where the gates let them through, as the server saw them).
 *
 * @internal
 */
import { type Errors, Gates } from "@sluice/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"

/** How often a command that is still waiting says so. */
export const tickMs = 10_000

type Phase =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Gates"; readonly attempt: number }
  | { readonly _tag: "Headers"; readonly attempt: number; readonly limitMs: number | undefined }
  | { readonly _tag: "FirstToken"; readonly attempt: number; readonly limitMs: number | undefined }
  | { readonly _tag: "Backoff"; readonly attempt: number; readonly reason: string; readonly delayMs?: number }

/** One error in a line: its tag, status and what to make of it. */
export const reasonOf = (error: Errors.OpenAiError): string => {
  const status = "status" in error && typeof error.status === "number" ? ` ${error.status}` : ""
  switch (error._tag) {
    case "Timeout":
      return `Timeout: no ${error.phase === "first-token" ? "first token" : error.phase === "headers" ? "response headers" : error.phase === "idle" ? "new token" : "complete answer"} within ${Math.round(error.afterMs / 1000)} s`
    case "RateLimited":
      return `RateLimited 429${error.retryAfterMs === undefined ? "" : ` (the server asked to wait ${(error.retryAfterMs / 1000).toFixed(1)} s)`}`
    default:
      return `${error._tag}${status}: ${error.message.length > 160 ? `${error.message.slice(0, 157)}…` : error.message}`
  }
}

/** The shared state of one command's watcher. */
export class Watch {
  private phase: Phase = { _tag: "Idle" }
  private since = Date.now()
  private lastTick = 0
  /** Attempts handed to the gates so far, across calls (the stream layer starts a new call to retry). */
  attempts = 0
  /** Timeouts to quote ("gives up after 120 s"), by phase. */
  limits: { headersMs?: number | undefined; firstTokenMs?: number | undefined } = {}

  constructor(
    readonly label: string,
    readonly maxAttempts: number | undefined
  ) {}

  say(text: string): void {
    process.stderr.write(`${this.label}: ${text}\n`)
  }

  private set(phase: Phase): void {
    this.phase = phase
    this.since = Date.now()
    this.lastTick = 0
  }

  private of(attempt: number): string {
    return this.maxAttempts === undefined ? `attempt ${attempt}` : `attempt ${attempt} of ${this.maxAttempts}`
  }

  /** A retry is coming: says why, and waits visibly until the next attempt is admitted. */
  retrying(error: Errors.OpenAiError, delayMs?: number): void {
    const next = this.attempts + 1
    const wait = delayMs === undefined ? "" : ` in ${(delayMs / 1000).toFixed(1)} s`
    this.say(`attempt ${this.attempts} failed (${reasonOf(error)}); retrying${wait} (${this.of(next)})`)
    this.set({
      _tag: "Backoff",
      attempt: next,
      reason: reasonOf(error),
      ...(delayMs === undefined ? {} : { delayMs })
    })
  }

  admitting(): number {
    this.attempts++
    this.set({ _tag: "Gates", attempt: this.attempts })
    return this.attempts
  }

  sent(attempt: number): void {
    this.set({ _tag: "Headers", attempt, limitMs: this.limits.headersMs })
  }

  headers(attempt: number, stream: boolean): void {
    // The first-token timeout counts from the start of the attempt: the clock keeps running from the send.
    if (stream) this.phase = { _tag: "FirstToken", attempt, limitMs: this.limits.firstTokenMs }
    else this.set({ _tag: "Idle" })
  }

  done(): void {
    this.set({ _tag: "Idle" })
  }

  /** Says what is being waited for when the phase has lasted another 10 s. */
  tick(now = Date.now()): void {
    const waited = now - this.since
    if (this.phase._tag === "Idle" || waited < tickMs || now - this.lastTick < tickMs) return
    this.lastTick = now
    const seconds = `${Math.round(waited / 1000)} s`
    const limit = (ms: number | undefined) => (ms === undefined ? "" : `; gives up at ${Math.round(ms / 1000)} s`)
    const phase = this.phase
    switch (phase._tag) {
      case "Gates":
        this.say(
          `still waiting to send ${this.of(phase.attempt)} (${seconds}): the rate limiter is waiting for the limit to reset, or the circuit breaker is open`
        )
        break
      case "Headers":
        this.say(
          `still waiting for the response headers of ${this.of(phase.attempt)} (${seconds}${limit(phase.limitMs)})`
        )
        break
      case "FirstToken":
        this.say(`still waiting for the first token of ${this.of(phase.attempt)} (${seconds}${limit(phase.limitMs)})`)
        break
      case "Backoff":
        this.say(`still waiting to retry (${seconds}) after ${phase.reason}`)
        break
    }
  }

  /** The gates decorator that feeds this watcher. */
  gates(inner: Gates.Gates["Service"]): Gates.Gates["Service"] {
    const watched = (call: Gates.Call): Gates.Call => {
      let lastError: Errors.OpenAiError | undefined
      return {
        ...call,
        attempt: (keyId, send) =>
          Effect.suspend(() => {
            // A re-attempt inside one call (the client's own retry, or the one re-attempt after a 401).
            if (call.progress.attempts > 0 && lastError !== undefined) {
              if (lastError._tag === "AuthenticationFailed") {
                this.say(`attempt ${this.attempts} was refused (401): re-reading the key and trying once more`)
              } else this.retrying(lastError)
            }
            const n = this.admitting()
            const sent = Effect.andThen(
              Effect.sync(() => this.sent(n)),
              send
            )
            return call.attempt(keyId, sent).pipe(
              Effect.tapError((error) =>
                Effect.sync(() => {
                  lastError = error
                  this.done()
                })
              ),
              Effect.tap(() => Effect.sync(() => this.headers(n, call.info.stream)))
            )
          }),
        settle: (result) =>
          Effect.andThen(
            Effect.sync(() => this.done()),
            call.settle(result)
          )
      }
    }
    return { admit: (info) => Effect.map(inner.admit(info), watched) }
  }

  /** Runs the ticker for as long as the scope is open. */
  ticker: Effect.Effect<void, never, Scope.Scope> = Effect.asVoid(
    Effect.forkScoped(
      Effect.repeat(
        Effect.sync(() => this.tick()),
        Schedule.spaced(Duration.millis(500))
      )
    )
  )
}

/** Wraps the `Gates` in context with `watch`'s decorator. */
export const layer = (watch: Watch): Layer.Layer<Gates.Gates, never, Gates.Gates> =>
  Layer.effect(
    Gates.Gates,
    Effect.map(Gates.Gates, (inner) => watch.gates(inner))
  )

/**
 * Why a job's attempts were retried and why its requests failed, by error (`ServerError 503`, `RateLimited 429`),
 * for the summary of `sluice batch`.
 */
export class Reasons {
  readonly retries = new Map<string, number>()
  readonly failures = new Map<string, number>()
  /** Attempts sent whose outcome has not come back yet. */
  inFlight = 0

  static key(error: Errors.OpenAiError): string {
    const status = "status" in error && typeof error.status === "number" ? ` ${error.status}` : ""
    return error._tag === "Timeout" ? `Timeout (${error.phase})` : `${error._tag}${status}`
  }

  static format(counts: ReadonlyMap<string, number>): string {
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${reason} ×${n}`)
      .join(", ")
  }
}

/**
 * The reasons of `sluice batch`'s summary, as a `Gates` decorator outside `Batch.layerMeter` (which counts the
 * attempts and holds every attempt of a stopped job unsent): an attempt it lets through is in flight until its
 * outcome, a retry is an attempt after the first that was let through (one held after a stop, or refused by a blown
 * fuse, is none; the reason counted is the previous attempt's error), and a call that failed counts its error.
 */
export const layerReasons = (reasons: Reasons): Layer.Layer<Gates.Gates, never, Gates.Gates> =>
  Layer.effect(
    Gates.Gates,
    Effect.map(Gates.Gates, (inner): Gates.Gates["Service"] => {
      const bump = (map: Map<string, number>, error: Errors.OpenAiError) => {
        const key = Reasons.key(error)
        map.set(key, (map.get(key) ?? 0) + 1)
      }
      const counted = (call: Gates.Call): Gates.Call => {
        let last: Errors.OpenAiError | undefined
        return {
          ...call,
          attempt: (keyId, send) => {
            const sent = Effect.andThen(
              Effect.sync(() => {
                reasons.inFlight++
                if (call.progress.attempts > 1 && last !== undefined) bump(reasons.retries, last)
              }),
              send
            )
            const over = Effect.sync(() => {
              reasons.inFlight = Math.max(0, reasons.inFlight - 1)
            })
            return call.attempt(keyId, sent).pipe(
              Effect.tapError((error) =>
                Effect.andThen(
                  over,
                  Effect.sync(() => {
                    last = error
                  })
                )
              ),
              Effect.tap(() => over)
            )
          },
          settle: (result) =>
            Effect.andThen(
              Effect.sync(() => {
                if (result.error !== undefined) bump(reasons.failures, result.error)
              }),
              call.settle(result)
            )
        }
      }
      return { admit: (info) => Effect.map(inner.admit(info), counted) }
    })
  )
