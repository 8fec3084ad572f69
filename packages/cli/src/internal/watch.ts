/**
 * What a waiting command is waiting for, on stderr: a `Gates` decorator follows every attempt of the client (gate
 * admission, request sent, response headers, first token), and a ticker says every 10 s what the command is still
 * waiting for and since when. Also the attempt counts of `sluice batch`'s summary, counted where the request is
 * handed to the transport, so that they match what the server saw.
 *
 * @internal
 */
import { type Errors, Gates } from "@sluice/core"
import { Batch } from "@sluice/stream"
import { Context, Duration, Effect, Layer, Schedule } from "effect"

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
  gates(inner: Gates.Gates["Type"]): Gates.Gates["Type"] {
    const attemptOf = new WeakMap<Gates.Ticket, number>()
    const lastError = new WeakMap<Gates.Ticket, Errors.OpenAiError>()
    return {
      admitCall: inner.admitCall,
      admitAttempt: (ticket, attempt, keyId) =>
        Effect.suspend(() => {
          // A re-attempt inside one call (the client's own retry, or the one re-attempt after a 401).
          const previous = lastError.get(ticket)
          if (attempt > 1 && previous !== undefined) {
            if (previous._tag === "AuthenticationFailed") {
              this.say(`attempt ${this.attempts} was refused (401): re-reading the key and trying once more`)
            } else this.retrying(previous)
          }
          const n = this.admitting()
          attemptOf.set(ticket, n)
          return Effect.tap(inner.admitAttempt(ticket, attempt, keyId), () => Effect.sync(() => this.sent(n)))
        }),
      observeAttempt: (ticket, outcome) =>
        Effect.zipRight(
          Effect.sync(() => {
            if (outcome._tag === "Failure") {
              lastError.set(ticket, outcome.error)
              this.done()
            } else this.headers(attemptOf.get(ticket) ?? this.attempts, ticket.info.stream)
          }),
          inner.observeAttempt(ticket, outcome)
        ),
      settleCall: (ticket, result) =>
        Effect.zipRight(
          Effect.sync(() => this.done()),
          inner.settleCall(ticket, result)
        )
    }
  }

  /** Runs the ticker for as long as the scope is open. */
  ticker: Effect.Effect<void, never, import("effect/Scope").Scope> = Effect.asVoid(
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
 * `Batch.Meter` counted where the request leaves: an attempt is sent once the gates admitted it (so requests in
 * flight when the job is interrupted count, as the server saw them), and a retry is an attempt after the first that
 * was sent (an attempt that a blown fuse refused before sending is no retry). With `reasons`, also why.
 */
export const layerMeter = (
  reasons: Reasons = new Reasons()
): Layer.Layer<Gates.Gates | Batch.Meter, never, Gates.Gates> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const inner = yield* Gates.Gates
      const counts = { requestsSent: 0, rateLimited: 0, retries: 0 }
      const last = new WeakMap<Gates.Ticket, Errors.OpenAiError>()
      const bump = (map: Map<string, number>, error: Errors.OpenAiError) => {
        const key = Reasons.key(error)
        map.set(key, (map.get(key) ?? 0) + 1)
      }
      const gates: Gates.Gates["Type"] = {
        admitCall: inner.admitCall,
        admitAttempt: (ticket, attempt, keyId) =>
          Effect.tap(inner.admitAttempt(ticket, attempt, keyId), () =>
            Effect.sync(() => {
              counts.requestsSent++
              reasons.inFlight++
              if (attempt > 1) {
                counts.retries++
                const previous = last.get(ticket)
                if (previous !== undefined) bump(reasons.retries, previous)
              }
            })
          ),
        observeAttempt: (ticket, outcome) =>
          Effect.zipRight(
            Effect.sync(() => {
              reasons.inFlight = Math.max(0, reasons.inFlight - 1)
              if (outcome._tag === "Failure") {
                last.set(ticket, outcome.error)
                if (outcome.error._tag === "RateLimited") counts.rateLimited++
              }
            }),
            inner.observeAttempt(ticket, outcome)
          ),
        settleCall: (ticket, result) =>
          Effect.zipRight(
            Effect.sync(() => {
              if (result.error !== undefined) bump(reasons.failures, result.error)
            }),
            inner.settleCall(ticket, result)
          )
      }
      return Context.make(Gates.Gates, gates).pipe(
        Context.add(Batch.Meter, { counts: Effect.sync(() => ({ ...counts })) })
      )
    })
  )
