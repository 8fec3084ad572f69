/**
 * The checks of `run`'s and `remote`'s options, before anything is read.
 *
 * @internal
 */
import type { Errors } from "@sluice/core"
import * as Options from "@sluice/core/Options"
import * as Result from "effect/Result"
import type * as Api from "../../Batch.js"

const checkMode = (mode: unknown) => Options.oneOf("mode", mode, ["new", "resume", "overwrite"])

const orProblem = <A>(value: A, problem: Errors.InvalidOptions | undefined): Result.Result<A, Errors.InvalidOptions> =>
  problem === undefined ? Result.succeed(value) : Result.fail(problem)

/** @internal */
export const validateRunOptions = (options: Api.RunOptions): Result.Result<Api.RunOptions, Errors.InvalidOptions> =>
  orProblem(
    options,
    Options.first(
      checkMode(options.mode),
      Options.integer("concurrency", options.concurrency, 1),
      Options.duration("gracePeriod", options.gracePeriod, false),
      Options.duration("progressInterval", options.progressInterval, true)
    )
  )

/** @internal */
export const validateRemoteOptions = (
  options: Api.RemoteOptions
): Result.Result<Api.RemoteOptions, Errors.InvalidOptions> =>
  orProblem(
    options,
    Options.first(
      checkMode(options.mode),
      Options.duration("pollInterval", options.pollInterval, true),
      Options.integer("maxRequestsPerBatch", options.maxRequestsPerBatch, 1),
      Options.integer("maxBytesPerBatch", options.maxBytesPerBatch, 1)
    )
  )
