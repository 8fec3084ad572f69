/**
 * The API's rule for a name it gives the model (a function or tool, a response format): 1-64 characters of
 * a-z, A-Z, 0-9, `_` and `-`. One place for the request schemas of both APIs, structured outputs and tools.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/** @internal */
export const namePattern = /^[a-zA-Z0-9_-]{1,64}$/

/** @internal */
export const Name = Schema.String.pipe(Schema.check(Schema.isPattern(namePattern)))
