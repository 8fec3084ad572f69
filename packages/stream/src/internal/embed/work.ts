/**
 * What the parts of one `Embed.embed` run share: the unique texts waiting for (or in) a request, the pacing that
 * the first response's headers set, and the run's settings.
 *
 * @internal
 */
import type { Errors, OpenAi } from "@sluice/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Api from "../../Embed.js"
import type * as Cache from "./cache.js"

/** @internal */
export type Failure = Api.EmbedError | Errors.OpenAiError

/** A pack not sent because the run was stopped: the stream ends before its first document. @internal */
export class Held {
  readonly _tag = "Held"
}

/** @internal */
export type Done = Deferred.Deferred<Float32Array, Failure | Held>

/** One unique text waiting for (or in) a request. @internal */
export interface Work {
  readonly key: Cache.Key
  readonly text: string
  /** Never below the text's exact token count (its UTF-8 bytes, or the exact count): for the per-request cap. */
  readonly tokens: number
  /** What the rate limiter will charge for it (⌈chars/4⌉, or the exact count): for sizing packs to the limit. */
  readonly weight: number
  /** The first document with this text, to name in errors. */
  readonly id: string
  readonly done: Done
}

/** Packs are half the limiter's burst (0.8 × a second's worth), so two fit and the limiter never idles. */
const packTokensFor = (tokensPerMinute: number) => Math.max(1, Math.floor((tokensPerMinute / 60) * 0.8 * 0.5))
/** Before the token limit is known (the first response brings it), packs stay small. */
const firstPackTokens = 16_384

/** The key's token limit, learned from the responses. @internal */
export interface Pace {
  /** The tokens a pack may weigh now. */
  readonly target: () => number
  /** Whether the token limit is known (given, or learned). */
  readonly known: () => boolean
  /** Records a response's `x-ratelimit-limit-tokens`. */
  readonly learn: (limit: number | undefined) => void
  /** Completed by the first answer (or failure): the packs after the first wait for it. */
  readonly firstAnswer: Deferred.Deferred<void>
}

/** @internal */
export const makePace = (given: number | undefined, maxTokens: number): Effect.Effect<Pace> =>
  Effect.map(Deferred.make<void>(), (firstAnswer) => {
    let tokensPerMinute = given
    // Until a response says otherwise (no limit header: an unlimited local server), the limit is unknown.
    let answered = false
    return {
      firstAnswer,
      known: () => tokensPerMinute !== undefined,
      target: () =>
        Math.min(
          maxTokens,
          tokensPerMinute !== undefined ? packTokensFor(tokensPerMinute) : answered ? maxTokens : firstPackTokens
        ),
      learn: (limit) => {
        answered = true
        if (limit !== undefined && limit > 0) tokensPerMinute = given === undefined ? limit : Math.min(given, limit)
        Deferred.doneUnsafe(firstAnswer, Effect.void)
      }
    }
  })

/** One run's settings and shared state. @internal */
export interface Run {
  readonly options: Api.Options
  readonly client: OpenAi.Service
  readonly store: Cache.Store
  readonly stats: Api.Stats
  readonly concurrency: number
  readonly maxInputs: number
  readonly maxTokens: number
  readonly perInput: number
  /** Documents between the oldest not yet emitted and the newest read. */
  readonly window: number
  readonly pace: Pace
  readonly queue: Queue.Queue<Work>
  /** Texts queued or in a request, by key: a repeat joins them. */
  readonly inflight: Map<string, Done>
  readonly scope: Scope.Scope
  /** Whether `shutdown` has completed: packs formed after it are held, not sent. */
  readonly stopped: () => boolean
}
