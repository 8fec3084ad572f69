/**
 * The one way `Errors` declares an error class: a `Schema.TaggedError` with its retry rule. Imports nothing of
 * `Errors`, so the classes can be built with it while `Errors` loads.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Schema from "effect/Schema"

/** @internal */
export type ErrorClass<Self, Tag extends string, Fields extends Schema.Struct.Fields, Inherited> = Schema.Class<
  Self,
  Schema.TaggedStruct<Tag, Fields>,
  Inherited
>

/**
 * A `Schema.TaggedError` whose `retryable` is `rule` of the error's fields: every error of the union is made with
 * it, so each states its retry rule in its declaration. (`TaggedError`'s return type is a conditional on `Self`
 * that TypeScript cannot resolve inside a generic function: the first cast states its resolved branch; the second
 * adds `retryable` to it.)
 */
export const TaggedError =
  <Self>() =>
  <Tag extends string, const Fields extends Schema.Struct.Fields>(
    tag: Tag,
    fields: Fields,
    rule: (error: Schema.Struct.Type<Fields>) => boolean
  ): ErrorClass<Self, Tag, Fields, Cause.YieldableError & { readonly retryable: boolean }> => {
    const Class = Schema.TaggedError<Self>()(tag, fields) as ErrorClass<Self, Tag, Fields, Cause.YieldableError>
    // A getter on the class's own prototype (each call makes a new class), as `get retryable()` in its body would be.
    Object.defineProperty(Class.prototype, "retryable", {
      get(this: Schema.Struct.Type<Fields>) {
        return rule(this)
      }
    })
    return Class as ErrorClass<Self, Tag, Fields, Cause.YieldableError & { readonly retryable: boolean }>
  }
