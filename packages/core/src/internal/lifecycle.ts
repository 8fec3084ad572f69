/**
 * The bodies of `ModelLifecycle`: a model's status on a day, the gate's `check` (warn once per model, or fail
 * with `ModelRetired`), a lifecycle file over the table, and the fallback walk of `chooseModel`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { ModelRetired } from "../Errors.js"
import type { ChooseOptions, Entry, File, ModelLifecycle, Options, Status } from "../ModelLifecycle.js"

/** Several models that share one announcement, checked on `checked`. @internal */
export const batch = (
  models: ReadonlyArray<string>,
  entry: Omit<Entry, "checked">,
  checked: string
): Record<string, Entry> => Object.fromEntries(models.map((model) => [model, { ...entry, checked }]))

const dayOf = (nowMs: number): string => new Date(nowMs).toISOString().slice(0, 10)

/** @internal */
export const status = (entries: Readonly<Record<string, Entry>>, model: string, nowMs: number): Status => {
  if (!Object.hasOwn(entries, model)) return { _tag: "Active" }
  const entry = entries[model]!
  const today = dayOf(nowMs)
  if (entry.shutdown !== undefined && today >= entry.shutdown) return { _tag: "Retired", entry }
  if (entry.deprecated === undefined || today >= entry.deprecated) return { _tag: "Deprecated", entry }
  return { _tag: "Active" }
}

const retiredError = (model: string, s: Exclude<Status, { readonly _tag: "Active" }>): ModelRetired =>
  new ModelRetired({
    model,
    state: s._tag === "Retired" ? "retired" : "deprecated",
    ...(s.entry.shutdown === undefined ? {} : { shutdownDate: s.entry.shutdown }),
    ...(s.entry.replacement === undefined ? {} : { replacement: s.entry.replacement })
  })

/** The gate over `table` and `options` (entries over the table, or instead of it). @internal */
export const make = (
  table: Readonly<Record<string, Entry>>,
  options: Options
): Effect.Effect<ModelLifecycle["Service"]> =>
  Effect.sync(() => {
    const entries = { ...(options.replaceTable === true ? {} : table), ...options.entries }
    const onDeprecated = options.onDeprecated ?? "warn"
    const onRetired = options.onRetired ?? "fail"
    const warned = new Set<string>()
    const statusOf = (model: string) => Effect.map(Clock.currentTimeMillis, (now) => status(entries, model, now))
    const check = (model: string) =>
      Effect.flatMap(statusOf(model), (s): Effect.Effect<void, ModelRetired> => {
        if (s._tag === "Active") return Effect.void
        const policy = s._tag === "Retired" ? onRetired : onDeprecated
        if (policy === "ignore") return Effect.void
        const error = retiredError(model, s)
        if (policy === "fail") return Effect.fail(error)
        // Warn once per model per process: a batch of 50 000 calls should not log 50 000 warnings.
        if (warned.has(model)) return Effect.void
        warned.add(model)
        return Effect.logWarning(error.message).pipe(
          Effect.annotateLogs({ model, state: error.state, replacement: s.entry.replacement ?? "" })
        )
      })
    return { check, status: statusOf, entries }
  })

/** @internal */
export const optionsOf = (file: File, options: Options): Options => ({
  ...options,
  entries: { ...options.entries, ...file.models },
  replaceTable: file.replace === true
})

/** @internal */
export const chooseModel = (model: string, options: ChooseOptions): string | undefined => {
  const seen = new Set<string>(options.exclude)
  const usable = options.usable ?? (() => true)
  const canAfford = options.canAfford ?? (() => true)
  const visit = (candidate: string, first: boolean): string | undefined => {
    if (!first && seen.has(candidate)) return undefined
    const excluded = seen.has(candidate)
    seen.add(candidate)
    if (!excluded && usable(candidate) && canAfford(candidate)) return candidate
    for (const next of options.fallbacks[candidate] ?? []) {
      const found = visit(next, false)
      if (found !== undefined) return found
    }
    return undefined
  }
  return visit(model, true)
}
