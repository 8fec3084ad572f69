/**
 * The limiter's option checks (see `RateLimiter.validate`).
 *
 * @internal
 */
import * as Result from "effect/Result"
import type { InvalidOptions } from "../../Errors.js"
import type { Limits, Options } from "../../RateLimiter.js"
import * as Check from "../options.js"

const checkLimits = (limits: Limits, prefix: string): InvalidOptions | undefined =>
  Check.first(
    Check.number(`${prefix}.requestsPerMinute`, limits.requestsPerMinute, { above: 0 }),
    Check.number(`${prefix}.tokensPerMinute`, limits.tokensPerMinute, { above: 0 })
  )

export const validate = (options: Options, prefix = "rateLimiter"): Result.Result<Options, InvalidOptions> => {
  const problem = Check.first(
    checkLimits(options, prefix),
    Check.number(`${prefix}.burstFactor`, options.burstFactor, { above: 0 }),
    Check.number(`${prefix}.probeTimeoutMs`, options.probeTimeoutMs, { atLeast: 0 }),
    Check.number(`${prefix}.pauseWithoutHintMs`, options.pauseWithoutHintMs, { atLeast: 0 }),
    Check.number(`${prefix}.maxPauseMs`, options.maxPauseMs, { atLeast: 0 })
  )
  return problem === undefined ? Result.succeed(options) : Result.fail(problem)
}
