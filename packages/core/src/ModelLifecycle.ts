/**
 * Model lifecycle: which OpenAI models are deprecated or retired, when they shut down and what replaces them,
 * and what to do when a call names one (`warn` or `fail` with `ModelRetired`). Also a pure `chooseModel` that
 * walks a fallback chain (`gpt-4o → gpt-4o-mini`) and never falls back to a model the budget cannot afford.
 *
 * Source: the OpenAI deprecations page (https://platform.openai.com/docs/deprecations), as of {@link asOf}.
 * OpenAI announces new deprecations regularly: re-check the table, or extend it with `layer({ entries })`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Result from "effect/Result"
import type { InvalidOptions, ModelRetired } from "./Errors.js"
import * as internal from "./internal/lifecycle.js"
import * as TableFile from "./internal/tables/file.js"
import { LifecycleFile } from "./internal/tables/schemas.js"

/**
 * The date the built-in table was last checked (the 2026 entries; the older ones are from 2025-10-01, see
 * {@link notes}).
 *
 * @since 0.1.0
 * @category constants
 */
export const asOf = "2026-12-01"

/**
 * How the built-in table was checked, and what it does not cover.
 *
 * @since 0.3.0
 * @category constants
 */
export const notes = [
  "Entries with a `source` were read on 2026-12-01 (`checked`) in the copies of OpenAI's pages the research tool holds:",
  "the deprecations page (developers.openai.com/api/docs/deprecations, a copy listing the 2026-12-11 shutdowns),",
  "its 2026-04-22 revision as mirrored by spybara.com (the 2026-07-23 and 2026-10-23 shutdowns), and the API",
  "reference's model list (developers.openai.com/api/reference/resources/$shared, the 2026-08-10 shutdowns).",
  "Replacements are the ones those copies name; where a copy was cut off or named no model ID, none is recorded.",
  "Entries without a `source` are from the 2025-10-01 table, written from memory and not re-checked.",
  "Not in the table, because no copy of the provider's page showing them was found (third-party pages report them):",
  "the rest of the 2026-10-23 batch (gpt-4-turbo, gpt-4o-2024-05-13, o1, o1-pro, o3-mini, o4-mini, gpt-4.1-nano),",
  "the 2026-12-11 shutdown of gpt-5-pro, o3 and o3-pro, and the 2027-01-14 shutdown of the gpt-4o, gpt-4o-mini,",
  "gpt-4.1 and gpt-4.1-mini snapshots. Add them with a lifecycle file (`--lifecycle`, docs/models.md) once checked."
].join(" ")

const deprecationsPage = "https://developers.openai.com/api/docs/deprecations?translationFallback=zh-Hans"
const mirror20260422 = "https://spybara.com/openai/api/history/docs/en/2026-04-22-0555..2026-04-23-0556/"
const modelReference = "https://developers.openai.com/api/reference/resources/%24shared"
const checked = "2026-12-01"

/** Several models that share one announcement. */
const batch = (models: ReadonlyArray<string>, entry: Omit<Entry, "checked">): Record<string, Entry> =>
  internal.batch(models, entry, checked)

/**
 * One model's lifecycle. Dates are ISO `YYYY-MM-DD` (UTC).
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** When the deprecation was announced (the model is deprecated from then on). */
  readonly deprecated?: string
  /** When the API stops serving it (retired from then on; the server answers 404 `model_not_found`). */
  readonly shutdown?: string
  readonly replacement?: string
  /**
   * Where the dates were read (a URL) and the day they were checked there.
   *
   * @since 0.3.0
   */
  readonly source?: string
  /** @since 0.3.0 */
  readonly checked?: string
}

/**
 * The built-in table of deprecated and retired OpenAI models.
 *
 * @since 0.1.0
 * @category constants
 */
export const table: Readonly<Record<string, Entry>> = {
  // GPT-3 completions family, retired January 2024
  "text-davinci-003": { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "gpt-3.5-turbo-instruct" },
  "text-davinci-002": { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "gpt-3.5-turbo-instruct" },
  "text-davinci-001": { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "gpt-3.5-turbo-instruct" },
  "code-davinci-002": { deprecated: "2023-03-20", shutdown: "2024-01-04", replacement: "gpt-3.5-turbo-instruct" },
  davinci: { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "davinci-002" },
  curie: { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "davinci-002" },
  babbage: { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "babbage-002" },
  ada: { deprecated: "2023-07-06", shutdown: "2024-01-04", replacement: "babbage-002" },
  // Early chat snapshots
  "gpt-3.5-turbo-0301": { deprecated: "2023-06-13", shutdown: "2024-06-13", replacement: "gpt-3.5-turbo" },
  "gpt-3.5-turbo-0613": { deprecated: "2023-11-06", shutdown: "2024-09-13", replacement: "gpt-3.5-turbo" },
  "gpt-3.5-turbo-16k-0613": { deprecated: "2023-11-06", shutdown: "2024-09-13", replacement: "gpt-3.5-turbo" },
  "gpt-4-0314": { deprecated: "2023-06-13", shutdown: "2024-06-13", replacement: "gpt-4o" },
  "gpt-4-32k": { deprecated: "2024-06-06", shutdown: "2025-06-06", replacement: "gpt-4o" },
  "gpt-4-32k-0314": { deprecated: "2023-06-13", shutdown: "2025-06-06", replacement: "gpt-4o" },
  "gpt-4-32k-0613": { deprecated: "2024-06-06", shutdown: "2025-06-06", replacement: "gpt-4o" },
  "gpt-4-vision-preview": { deprecated: "2024-06-06", shutdown: "2024-12-06", replacement: "gpt-4o" },
  "gpt-4-1106-vision-preview": { deprecated: "2024-06-06", shutdown: "2024-12-06", replacement: "gpt-4o" },
  // 2025 retirements
  "gpt-4.5-preview": { deprecated: "2025-04-14", shutdown: "2025-07-14", replacement: "gpt-4.1" },
  "gpt-4.5-preview-2025-02-27": { deprecated: "2025-04-14", shutdown: "2025-07-14", replacement: "gpt-4.1" },
  "o1-preview": { deprecated: "2025-04-28", shutdown: "2025-07-28", replacement: "o3" },
  "o1-preview-2024-09-12": { deprecated: "2025-04-28", shutdown: "2025-07-28", replacement: "o3" },
  "o1-mini": { deprecated: "2025-04-28", shutdown: "2025-10-27", replacement: "o4-mini" },
  "o1-mini-2024-09-12": { deprecated: "2025-04-28", shutdown: "2025-10-27", replacement: "o4-mini" },
  // Legacy snapshots listed as superseded; no shutdown date confirmed when the table was written.
  "gpt-4o-2024-05-13": { replacement: "gpt-4o" },
  // 2026-04-22 announcement: legacy snapshots, shut down 2026-07-23 and 2026-10-23 (mirror of the page's revision).
  ...batch(["computer-use-preview", "computer-use-preview-2025-03-11"], {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    source: mirror20260422
  }),
  ...batch(["gpt-4o-audio-preview-2024-12-17", "gpt-4o-mini-audio-preview-2024-12-17", "gpt-audio-mini-2025-10-06"], {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-audio",
    source: mirror20260422
  }),
  ...batch(["gpt-4o-mini-realtime-preview-2024-12-17", "gpt-realtime-mini-2025-10-06"], {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-realtime-mini",
    source: mirror20260422
  }),
  ...batch(["gpt-4o-mini-search-preview-2025-03-11", "gpt-4o-search-preview-2025-03-11"], {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-4.1-mini",
    source: mirror20260422
  }),
  "gpt-4o-mini-tts-2025-03-20": {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-realtime",
    source: mirror20260422,
    checked
  },
  ...batch(["gpt-5-chat-latest", "gpt-5.1-chat-latest"], {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-5.3-chat-latest",
    source: mirror20260422
  }),
  ...batch(["gpt-5-codex", "gpt-5.1-codex-max", "gpt-5.2-codex"], {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-5.4",
    source: mirror20260422
  }),
  "gpt-5.1-codex": {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-5",
    source: mirror20260422,
    checked
  },
  "gpt-5.1-codex-mini": {
    deprecated: "2026-04-22",
    shutdown: "2026-07-23",
    replacement: "gpt-5.4-mini",
    source: mirror20260422,
    checked
  },
  ...batch(
    ["o3-deep-research", "o3-deep-research-2025-06-26", "o4-mini-deep-research", "o4-mini-deep-research-2025-06-26"],
    { deprecated: "2026-04-22", shutdown: "2026-07-23", source: mirror20260422 }
  ),
  ...batch(["gpt-3.5-turbo", "gpt-3.5-turbo-0125"], {
    deprecated: "2026-04-22",
    shutdown: "2026-10-23",
    replacement: "gpt-4.1-mini",
    source: mirror20260422
  }),
  ...batch(["gpt-4", "gpt-4-0613"], { deprecated: "2026-04-22", shutdown: "2026-10-23", source: mirror20260422 }),
  // Chat variants shut down 2026-08-10 (the API reference's model list).
  ...batch(["gpt-5.2-chat-latest", "gpt-5.3-chat-latest"], { shutdown: "2026-08-10", source: modelReference }),
  // 2026-06-11 announcement: GPT-5, shut down 2026-12-11.
  ...batch(["gpt-5", "gpt-5-2025-08-07"], {
    deprecated: "2026-06-11",
    shutdown: "2026-12-11",
    replacement: "gpt-6.1-sol",
    source: deprecationsPage
  }),
  ...batch(["gpt-5-mini", "gpt-5-mini-2025-08-07"], {
    deprecated: "2026-06-11",
    shutdown: "2026-12-11",
    replacement: "gpt-6.1-terra",
    source: deprecationsPage
  }),
  // The copy is cut off at the replacement's name.
  ...batch(["gpt-5-nano", "gpt-5-nano-2025-08-07"], {
    deprecated: "2026-06-11",
    shutdown: "2026-12-11",
    source: deprecationsPage
  })
}

/**
 * A model's state on a given day.
 *
 * @since 0.1.0
 * @category models
 */
export type Status =
  | { readonly _tag: "Active" }
  | { readonly _tag: "Deprecated"; readonly entry: Entry }
  | { readonly _tag: "Retired"; readonly entry: Entry }

/**
 * The state of `model` at `nowMs` in a table. Entries without dates count as deprecated (listed as superseded).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const status = (entries: Readonly<Record<string, Entry>>, model: string, nowMs: number): Status =>
  internal.status(entries, model, nowMs)

/**
 * What to do with a deprecated or retired model.
 *
 * @since 0.1.0
 * @category models
 */
export type Policy = "ignore" | "warn" | "fail"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `"warn"`. */
  readonly onDeprecated?: Policy
  /** Default `"fail"`: the server would answer 404 anyway; failing first saves the request. */
  readonly onRetired?: Policy
  /** Entries that replace or add to the built-in table. */
  readonly entries?: Readonly<Record<string, Entry>>
  /**
   * Start from an empty table instead of the built-in one.
   *
   * @since 0.3.0
   */
  readonly replaceTable?: boolean
}

/**
 * The lifecycle gate.
 *
 * @since 0.1.0
 * @category services
 */
export class ModelLifecycle extends Context.Service<
  ModelLifecycle,
  {
    /** Applies the policy to a model: logs a warning or fails with `ModelRetired`. */
    readonly check: (model: string) => Effect.Effect<void, ModelRetired>
    readonly status: (model: string) => Effect.Effect<Status>
    readonly entries: Readonly<Record<string, Entry>>
  }
>()("@sluice/core/ModelLifecycle") {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<ModelLifecycle["Service"]> => internal.make(table, options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ModelLifecycle> => Layer.effect(ModelLifecycle, make(options))

/**
 * A lifecycle file (format `sluice-lifecycle`, version 1; see docs/models.md), as decoded.
 *
 * @since 0.3.0
 * @category models
 */
export type File = typeof LifecycleFile.Type

/**
 * Reads and validates a lifecycle file. A missing or unreadable file, bad JSON, an unknown field or a bad value
 * (`models["o1-mini"].shutdown`: not a date) is an `InvalidOptions` naming the file, the field and the value.
 *
 * @since 0.3.0
 * @category files
 */
export const readFile = (path: string): Effect.Effect<File, InvalidOptions, FileSystem.FileSystem> =>
  TableFile.read("lifecycle file", path, LifecycleFile)

/**
 * Validates the text of a lifecycle file read from `path` (for callers that read it themselves, e.g. a CLI checking its
 * flags before anything starts). Same errors as {@link readFile}.
 *
 * @since 0.3.0
 * @category files
 */
export const parseFile = (text: string, path: string): Result.Result<File, InvalidOptions> =>
  TableFile.parse("lifecycle file", path, text, LifecycleFile)

/**
 * `options` with a lifecycle file's models over the built-in table (or instead of it, with `"replace": true`).
 *
 * @since 0.3.0
 * @category files
 */
export const optionsOf = (file: File, options: Options = {}): Options => internal.optionsOf(file, options)

/**
 * The lifecycle gate over a file's table (see {@link readFile}); `options` sets the policies.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerFile = (
  path: string,
  options: Options = {}
): Layer.Layer<ModelLifecycle, InvalidOptions, FileSystem.FileSystem> =>
  Layer.effect(
    ModelLifecycle,
    Effect.flatMap(readFile(path), (file) => make(optionsOf(file, options)))
  )

/**
 * {@link layerFile} from `SLUICE_LIFECYCLE` when it is set, else the built-in table.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerConfig = (
  options: Options = {},
  path: Config.Config<Option.Option<string>> = Config.option(Config.String("SLUICE_LIFECYCLE"))
): Layer.Layer<ModelLifecycle, InvalidOptions | Config.ConfigError, FileSystem.FileSystem> =>
  Layer.unwrap(Effect.map(path, (file) => (Option.isSome(file) ? layerFile(file.value, options) : layer(options))))

/**
 * Input of {@link chooseModel}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChooseOptions {
  /** Fallbacks per model, tried in order: `{ "gpt-4o": ["gpt-4o-mini"] }`. Chains are followed transitively. */
  readonly fallbacks: Readonly<Record<string, ReadonlyArray<string>>>
  /** Whether the budget can afford a call on this model (worst case priced). Default: always. */
  readonly canAfford?: (model: string) => boolean
  /** Whether a model may be used at all (e.g. not retired). Default: always. */
  readonly usable?: (model: string) => boolean
  /** Models already known to have failed for this call (e.g. the one that just answered 404). */
  readonly exclude?: ReadonlyArray<string>
}

/**
 * Picks the model to call: `model` itself when usable, affordable and not excluded, else the first fallback (depth
 * first, each model once) that is. `undefined` when none qualifies — the caller then fails with the original
 * error rather than silently calling something the budget cannot pay for. Pure.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const chooseModel = (model: string, options: ChooseOptions): string | undefined =>
  internal.chooseModel(model, options)
