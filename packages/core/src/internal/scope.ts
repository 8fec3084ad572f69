/** The one place a call's scopes are built. Not public: see `CallScope.ts`. */
import type { CallScope, Identity, Resolvers } from "../CallScope.js"

export const defaultKey = (keyId: string, model: string | undefined): string => `${keyId}:${model ?? "-"}`

export const make = <I extends Identity>(info: I, resolvers: Resolvers<I> = {}): CallScope => ({
  keyId: info.keyId,
  model: info.model,
  key: resolvers.scopeOf === undefined ? defaultKey(info.keyId, info.model) : resolvers.scopeOf(info),
  budget: resolvers.budgetScopeOf === undefined ? "global" : resolvers.budgetScopeOf(info)
})

export const withKey = <I extends Identity>(
  scope: CallScope,
  info: I,
  keyId: string,
  resolvers: Resolvers<I> = {}
): CallScope =>
  keyId === scope.keyId
    ? scope
    : {
        // The budget stays the call's: its reservation was made there.
        ...make({ ...info, keyId }, resolvers),
        budget: scope.budget
      }
