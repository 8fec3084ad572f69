/**
 * V8 heap sizing for the long-running commands (`sluice batch`, `sluice embed`), set at run time before the
 * command's modules load (decision 0007, "Peak memory").
 *
 * Measured cause of their peak RSS: not what the job keeps alive (the live heap after a full GC is flat at about
 * 40–50 MB from 20,000 to 100,000 lines) but V8's headroom over it. Under the jobs' allocation rate the young
 * generation grows to its maximum (`new_space` 134 MB committed at 20,000 lines, 67 MB already after module
 * loading), and the old generation's next-GC limit is the live size times a dynamic factor of up to 4
 * (`old_space` 95–156 MB committed over a 40–50 MB live set).
 *
 * Two V8 flags, both read by V8 at each GC (so `v8.setFlagsFromString` works after start-up, unlike
 * `--max-semi-space-size`, which V8 reads only when the heap is created):
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size instead of doubling;
 * - `--heap-growing-percent=100`: the old generation's limit is twice the live size after a GC.
 * Measured cost: about 20 % more CPU per request (more scavenges and mark-compacts), for 45 % less peak RSS.
 *
 * A user who sizes the heap themselves (`NODE_OPTIONS` or node flags naming a semi-space or heap-growing option,
 * or `SLUICE_V8_HEAP=default`) keeps V8's behaviour.
 */
import * as v8 from "node:v8"

const commands = new Set(["batch", "embed"])

const flags = ["--semi-space-growth-factor=1", "--heap-growing-percent=100"] as const

const userSized = (env: NodeJS.ProcessEnv, execArgv: ReadonlyArray<string>): boolean =>
  env["SLUICE_V8_HEAP"] === "default" ||
  [env["NODE_OPTIONS"] ?? "", ...execArgv].some((arg) => /semi[-_]space|heap[-_]growing/.test(arg))

/** The V8 flags for a run of `argv` (as `process.argv`): none unless it is `batch`/`embed` and the user sized nothing. */
export const flagsFor = (
  argv: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  execArgv: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const command = argv[2]
  return command === undefined || !commands.has(command) || userSized(env, execArgv) ? [] : flags
}

/** Sets `flagsFor` this process's command line; returns the flags it set. */
export const sizeFor = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const chosen = flagsFor(argv, process.env, process.execArgv)
  for (const flag of chosen) v8.setFlagsFromString(flag)
  return chosen
}
