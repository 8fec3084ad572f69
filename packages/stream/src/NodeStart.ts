/**
 * The Node settings `sluice batch` and `sluice embed` start their process with: V8 flags read only when the heap is
 * created, and glibc malloc settings read only when the process starts. A program that runs `Batch.run` or
 * `Embed.runFile` itself can start `node` the same way (`node ${flags} app.js`, with `env` in the environment) for the
 * same memory: measured in docs/decisions/0007-engine-profile.md (batch) and 0013-embeddings-cache.md (embed).
 *
 * This module imports nothing, so the CLI reads it before anything else loads.
 *
 * @since 0.3.0
 */

/**
 * A job's start: node flags and environment variables.
 *
 * @since 0.3.0
 * @category models
 */
export interface Start {
  /** Given to `node` before the script. */
  readonly flags: ReadonlyArray<string>
  /** Set in the environment unless the user set them. */
  readonly env: Readonly<Record<string, string>>
}

/**
 * A batch job's: 4 MB semi-spaces (the young generation grows no further), the old generation's limit twice its
 * live size after a collection, at most two malloc arenas.
 *
 * @since 0.3.0
 * @category constants
 */
export const batch: Start = {
  flags: ["--max-semi-space-size=4", "--heap-growing-percent=100"],
  env: { MALLOC_ARENA_MAX: "2" }
}

/**
 * An embeddings job's: as a batch job's, but the old generation's limit 1.5 times its live size, V8's
 * memory-over-speed choices (`--optimize-for-size`), and every allocation over 128 KiB its own mapping, returned to
 * the system when freed (an embeddings response is 2.8 MB). About 10 % more CPU than the batch settings, for
 * 205–211 → 166–170 MiB at 100,000 documents.
 *
 * @since 0.3.0
 * @category constants
 */
export const embed: Start = {
  flags: ["--max-semi-space-size=4", "--heap-growing-percent=50", "--optimize-for-size"],
  env: { MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "131072" }
}
