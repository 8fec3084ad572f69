/**
 * `run`: a job on a fixed pool of workers that read the input's second pass from a shared feed, send each request
 * through the client, and append its output line to the journal; progress from counters; a stop (terminal error,
 * shutdown, interruption) ends admission and drains within the grace period.
 *
 * @internal
 */
import { type Errors, OpenAi } from "@sluice/core"
import * as Pricing from "@sluice/core/Pricing"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Api from "../../Batch.js"
import * as Feed from "./feed.js"
import * as Input from "./input.js"
import * as Job from "./job.js"
import { type Admission, CurrentAdmission, Gated } from "./meter.js"
import * as Options from "./options.js"
import * as Outcome from "./outcome.js"
import { progressOf, summaryOf } from "./progress.js"
import { send } from "./send.js"
import { addUsage, modelOf, type Tally } from "./tally.js"

interface Counters extends Tally {
  succeeded: number
  failed: number
  sentFallback: number
  retriesFallback: number
  inFlight: number
}

/** A running job: what it started with, its counters, and whether (and why) it stopped. */
interface State {
  readonly job: Job.StreamingJob
  readonly options: Api.RunOptions
  readonly client: OpenAi.Service
  readonly pricing: Pricing.Pricing["Service"]
  readonly counters: Counters
  readonly stop: Deferred.Deferred<Api.Stopped>
  /** Done once the job stopped and no request has an attempt sent (only known with layerMeter's decorator). */
  readonly idle: Deferred.Deferred<void>
  readonly gated: boolean
  /** The summary so far, from the counters (and the `Meter`'s, when there is one). */
  readonly summary: Effect.Effect<Api.Summary>
  stopped: Api.Stopped | null
  /** Requests with an attempt sent and not finished. */
  sending: number
}

/** The attempt counts of this run: the `Meter`'s since the start, or those derived from the responses. */
const attemptCounts = (counters: Counters) =>
  Effect.gen(function* () {
    const meter = Option.getOrUndefined(yield* Effect.serviceOption(Api.Meter))
    if (meter === undefined) {
      return Effect.sync(() => ({
        requestsSent: counters.sentFallback,
        rateLimited: 0,
        retries: counters.retriesFallback
      }))
    }
    const start = yield* meter.counts
    return Effect.map(meter.counts, (now) => ({
      requestsSent: now.requestsSent - start.requestsSent,
      rateLimited: now.rateLimited - start.rateLimited,
      retries: now.retries - start.retries
    }))
  })

const makeState = (job: Job.StreamingJob, options: Api.RunOptions) =>
  Effect.gen(function* () {
    const counters: Counters = {
      succeeded: 0,
      failed: 0,
      sentFallback: 0,
      retriesFallback: 0,
      inFlight: 0,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0
    }
    const attempts = yield* attemptCounts(counters)
    const startedAt = yield* Clock.currentTimeMillis
    const state: State = {
      job,
      options,
      counters,
      client: yield* OpenAi.OpenAi,
      pricing: yield* Pricing.current,
      stop: yield* Deferred.make<Api.Stopped>(),
      idle: yield* Deferred.make<void>(),
      gated: yield* Effect.service(Gated),
      summary: Effect.suspend(() =>
        Effect.zipWith(attempts, Clock.currentTimeMillis, (sent, now) =>
          summaryOf(
            { total: job.total, skipped: job.skipped, toDo: job.pending },
            counters,
            sent,
            now - startedAt,
            state.stopped
          )
        )
      ),
      stopped: null,
      sending: 0
    }
    return state
  })

// Progress is read from the counters: published when the job starts, every `progressInterval`, when it stops and
// when it ends, never per request (decision 0007).
const publish = (state: State): Effect.Effect<void> => {
  const ref = state.options.progress
  if (ref === undefined) return Effect.void
  const { counters, job } = state
  return Effect.flatMap(state.summary, (summary) =>
    SubscriptionRef.set(ref, progressOf(summary, counters.succeeded + counters.failed, job.pending, counters.inFlight))
  )
}

/** Once the job stopped and no sent request is left, the drain need not wait: every other one is unsent. */
const checkIdle = (state: State) =>
  Effect.suspend(() =>
    state.gated && state.stopped !== null && state.sending === 0 ? Deferred.succeed(state.idle, undefined) : Effect.void
  )

const halt = (state: State, reason: Api.Stopped) =>
  Effect.suspend(() => {
    if (state.stopped !== null) return Effect.void
    state.stopped = reason
    return Effect.andThen(Effect.andThen(Deferred.succeed(state.stop, reason), checkIdle(state)), publish(state))
  })

/** One Admission per worker, provided once: `sent` and `held` are about the worker's current request. */
const workerAdmission = (state: State) => {
  let sent = false
  const unsent = Effect.suspend(() => {
    if (!sent) return Effect.void
    sent = false
    state.sending--
    return checkIdle(state)
  })
  const admission: Admission = {
    stopped: () => state.stopped !== null,
    sent: () => {
      if (sent) return
      sent = true
      state.sending++
    },
    held: unsent
  }
  return { admission, done: unsent }
}

const settleSuccess = (state: State, request: Api.Request, response: OpenAi.Response<unknown>) => {
  const { counters } = state
  counters.sentFallback += response.attempts
  counters.retriesFallback += response.attempts - 1
  addUsage(counters, state.pricing, response.body, modelOf(request.body))
  return Effect.map(Job.write(state.job.journal, Outcome.successLine(request.customId, response)), () => {
    counters.succeeded++
  })
}

const settleFailure = (state: State, request: Api.Request, error: Errors.OpenAiError) => {
  const reason = Outcome.stopReason(error)
  if (reason !== undefined) return halt(state, reason)
  if (Outcome.sentBy(error)) state.counters.sentFallback++
  return Effect.map(Job.write(state.job.journal, Outcome.failureLine(request.customId, error)), () => {
    state.counters.failed++
  })
}

const processOne = (state: State, request: Api.Request) =>
  Effect.suspend(() => {
    state.counters.inFlight++
    return Effect.flatMap(
      Effect.ensuring(
        Effect.result(send(state.client, request, Deferred.isDone(state.stop))),
        Effect.sync(() => state.counters.inFlight--)
      ),
      (result) =>
        Result.isSuccess(result)
          ? settleSuccess(state, request, result.success)
          : settleFailure(state, request, result.failure)
    )
  })

/** A worker takes the next request from the feed until it ends or the job stops (no fiber or stream per line). */
const worker = <E, R>(state: State, feed: Feed.Feed<E, R>) =>
  Effect.suspend(() => {
    const { admission, done } = workerAdmission(state)
    const loop: Effect.Effect<void, Api.RunError | E, R> = Effect.flatMap(feed.next, (request) =>
      request === undefined || state.stopped !== null
        ? Effect.void
        : Effect.andThen(Effect.ensuring(processOne(state, request), done), loop)
    )
    return Effect.provideService(loop, CurrentAdmission, admission)
  })

const startTicker = (state: State) => {
  if (state.options.progress === undefined) return Effect.void
  const every = Duration.fromInputUnsafe(state.options.progressInterval ?? "100 millis")
  return Effect.forkScoped(Effect.delay(Effect.repeat(publish(state), Schedule.spaced(every)), every))
}

/**
 * Once stopped: no new requests start (workers check) and, with layerMeter's decorator, no attempt is sent any more;
 * the requests already sent get the grace period. The pipeline is interrupted when the grace period ends or, gated,
 * as soon as no sent request is left (the rest wait unsent at the gates).
 */
const drain = <A, E>(state: State, pipeline: Fiber.Fiber<A, E>) =>
  Effect.andThen(
    Effect.timeoutOrElse(Effect.raceFirst(Effect.asVoid(Fiber.await(pipeline)), Deferred.await(state.idle)), {
      duration: Duration.fromInputUnsafe(state.options.gracePeriod ?? "10 seconds"),
      orElse: () => Effect.void
    }),
    Fiber.interrupt(pipeline)
  )

const interrupted: Api.Stopped = { reason: "interrupted", message: "interrupted: stopped admitting and drained" }

/** Runs the workers to the end of the feed, or to a stop and its drain; returns the summary. */
const supervise = <E, R>(state: State, feed: Feed.Feed<E, R>) =>
  Effect.gen(function* () {
    yield* publish(state)
    yield* startTicker(state)
    const workers = Array.from({ length: state.options.concurrency ?? 16 }, () => worker(state, feed))
    const pipeline = yield* Effect.forkScoped(Effect.all(workers, { concurrency: "unbounded", discard: true }))
    const { shutdown } = state.options
    const stopping = shutdown === undefined ? Effect.never : Effect.andThen(shutdown, halt(state, interrupted))
    const watcher = yield* Effect.forkScoped(
      Effect.andThen(Effect.race(Deferred.await(state.stop), stopping), drain(state, pipeline))
    )
    // Interrupted: the same drain, and the last snapshot published (run returns no summary then).
    const exit = yield* Fiber.await(pipeline).pipe(
      Effect.onInterrupt(() =>
        Effect.andThen(Effect.andThen(halt(state, interrupted), drain(state, pipeline)), publish(state))
      )
    )
    yield* Fiber.interrupt(watcher)
    // A write error fails the job; an interruption after the grace period does not (the summary stands).
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
    yield* Job.flush(state.job.journal)
    const summary = yield* state.summary
    yield* publish(state)
    return summary
  })

/** @internal */
export const run = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: Api.RunOptions
): Effect.Effect<Api.Summary, Api.RunError | E, OpenAi.OpenAi | FileSystem.FileSystem | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.fromResult(Options.validateRunOptions(options))
      const job = yield* Job.openStreamingJob(lines, options)
      const feed = yield* Feed.make(lines, job.ids, job.done, Input.inputPathOf(lines, options) ?? "(input)")
      return yield* supervise(yield* makeState(job, options), feed)
    })
  )
