/**
 * V8 heap sizing for the long-running commands (`sluice batch`, `sluice embed`), chosen before the command's modules
 * load (decision 0007, "Peak memory" and "Session 4").
 *
 * Measured cause of their peak RSS: not what the job keeps alive (the live heap after a full GC is flat at about
 * 40–50 MB from 20,000 to 100,000 lines) but the headroom over it: V8's young generation grows to its maximum under
 * the jobs' allocation rate (`new_space` 134 MB committed at 20,000 lines), the old generation's next-GC limit is the
 * live size times a dynamic factor of up to 4, and glibc gives each thread that allocates (V8's compiler and GC
 * threads, libuv's pool) its own malloc arena that it keeps (about 25 MB at 20,000 lines).
 *
 * So the process is started again in place (`process.execve`: same pid, same stdio, nothing left behind; about
 * 35 ms of CPU for a second Node start-up) with:
 * - `--max-semi-space-size=4`: the young generation grows to 4 MB semi-spaces and no further (a flag V8 reads only
 *   when it creates the heap, hence the new start);
 * - `--heap-growing-percent=100` (batch) or `=50` (embed): the old generation's limit is twice (1.5 times) the live
 *   size after a GC;
 * - embed only, `--optimize-for-size`: V8's choices that favour memory over speed (its GC and compiler);
 * - `MALLOC_ARENA_MAX=2` in the environment (read by glibc at start): at most two malloc arenas;
 * - embed only, `MALLOC_MMAP_THRESHOLD_=131072`: every allocation over 128 KiB (an embeddings response, 2.8 MB) is
 *   its own mapping, returned to the system when freed. Without it glibc raises the threshold after the first such
 *   free, and the responses come from (and stay in) the arena.
 *
 * Embed's settings (decision 0013, "Memory", session 5), 100,000 documents with no token limit, 3 runs each: peak
 * RSS 205–211 MiB with batch's; 195–197 with `=50`; 176–188 with the threshold too; 166–170 with
 * `--optimize-for-size` too, for 8.0 → 8.9 s of CPU (+11 %). An embed job is held to its key's token limit, rarely
 * to the CPU; at 1,000,000 documents without a limit (CPU-bound) 193 → 177 MiB for +14 % CPU. Batch's responses are
 * small, and a fixed threshold did not help it (decision 0007).
 *
 * Where `process.execve` is missing or refused (Windows), the heap is sized at run time instead, as before session 4:
 * `--semi-space-growth-factor=1` (the young generation keeps its initial 1 MB semi-spaces; more scavenges) and
 * `--heap-growing-percent=100`, both read by V8 at each GC, so `v8.setFlagsFromString` works after start-up.
 *
 * A user who sizes the heap themselves (`NODE_OPTIONS` or node flags naming a semi-space or heap-growing option,
 * or `SLUICE_V8_HEAP=default`) keeps V8's behaviour; a `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_` of their own is
 * kept.
 */
import * as v8 from "node:v8"
import * as NodeStart from "@sluice/stream/NodeStart"

/** The new start of each command that sizes the heap (`@sluice/stream/NodeStart`: the settings are public). */
export const starts: Readonly<Record<string, NodeStart.Start>> = { batch: NodeStart.batch, embed: NodeStart.embed }

/** The flags set at run time where the process cannot start again. */
export const runtimeFlags = ["--semi-space-growth-factor=1", "--heap-growing-percent=100"] as const

const userSized = (env: NodeJS.ProcessEnv, execArgv: ReadonlyArray<string>): boolean =>
  env["SLUICE_V8_HEAP"] === "default" ||
  [env["NODE_OPTIONS"] ?? "", ...execArgv].some((arg) => /semi[-_]space|heap[-_]growing/.test(arg))

/** Whether a run of `argv` (as `process.argv`) sizes the heap: `batch`/`embed`, and the user sized nothing. */
export const sizes = (
  argv: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  execArgv: ReadonlyArray<string>
): boolean => {
  const command = argv[2]
  return command !== undefined && Object.hasOwn(starts, command) && !userSized(env, execArgv)
}

/** How this process starts again with its command's `starts`: the `execve` arguments (its own flags, and env, kept). */
export const restartOf = (
  argv: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  execPath: string,
  execArgv: ReadonlyArray<string>
): { readonly args: ReadonlyArray<string>; readonly env: NodeJS.ProcessEnv } => {
  const start = starts[argv[2] ?? ""] ?? { flags: [], env: {} }
  return { args: [execPath, ...execArgv, ...start.flags, ...argv.slice(1)], env: { ...start.env, ...env } }
}

/**
 * Sizes this process's heap for its command line: starts it again with its command's `starts` (does not return), or, without
 * `process.execve`, sets `runtimeFlags`. Returns the flags it set at run time (none if it did nothing).
 */
export const sizeFor = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (!sizes(argv, process.env, process.execArgv)) return []
  if (typeof process.execve === "function" && process.platform !== "win32") {
    const restart = restartOf(argv, process.env, process.execPath, process.execArgv)
    try {
      process.execve(process.execPath, [...restart.args], restart.env)
    } catch {
      // The platform refused (Node throws rather than returning): size the heap at run time instead.
    }
  }
  for (const flag of runtimeFlags) v8.setFlagsFromString(flag)
  return runtimeFlags
}
