/**
 * The budget's option checks (see `Budget.validate`).
 *
 * @internal
 */
import * as Result from "effect/Result"
import type { Options } from "../../Budget.js"
import type { InvalidOptions } from "../../Errors.js"
import * as Check from "../options.js"

export const validate = (options: Options, prefix = "budget"): Result.Result<Options, InvalidOptions> => {
  const problem = Check.first(
    Check.number(`${prefix}.ceilingUsd`, options.ceilingUsd, { atLeast: 0 }),
    Check.number(`${prefix}.ceilingTokens`, options.ceilingTokens, { atLeast: 0 }),
    ...Object.entries(options.ceilings ?? {}).flatMap(([scope, ceiling]) => [
      Check.number(`${prefix}.ceilings.${scope}.usd`, ceiling.usd, { atLeast: 0 }),
      Check.number(`${prefix}.ceilings.${scope}.tokens`, ceiling.tokens, { atLeast: 0 })
    ])
  )
  return problem === undefined ? Result.succeed(options) : Result.fail(problem)
}
