/**
 * `sluice merge -o merged.jsonl --input requests.jsonl shard-1.jsonl shard-2.jsonl …`: the outputs of the shards of
 * one input, as one Batch-format output in the input's order. Every line of every output is checked first (a JSON
 * object with a `custom_id` of the input and the output shape); a `custom_id` with a result in two outputs is an
 * error (the shards overlapped: the same request ran twice), unless one of them failed and the other succeeded
 * (a `--retry-failed` rewrite): then the success is kept. The merged file is written to a temporary file beside the
 * target and renamed over it, so it is never seen half-written; an existing target needs `--overwrite`.
 *
 * Exit 0 when every input line has a result, 2 when some have none yet (they are listed: resume their shard),
 * 1 for bad usage or a bad output (nothing written).
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Effect from "effect/Effect"

/** @internal */
export interface MergeFlags {
  readonly input: string
  readonly output: string
  readonly parts: ReadonlyArray<string>
  readonly overwrite: boolean
}

interface Line {
  readonly text: string
  readonly ok: boolean
  readonly file: string
  readonly line: number
}

const isOk = (parsed: Record<string, unknown>): boolean => {
  const response = parsed["response"] as { status_code?: unknown } | null | undefined
  return (
    parsed["error"] == null &&
    typeof response?.status_code === "number" &&
    response.status_code >= 200 &&
    response.status_code < 300
  )
}

const readInputIds = async (input: string, problems: Array<string>): Promise<Array<string>> => {
  const ids: Array<string> = []
  const lines = (await Fs.readFile(input, "utf8")).split(/\r?\n/)
  lines.forEach((text, i) => {
    if (text.trim() === "") return
    try {
      const id = (JSON.parse(text) as { custom_id?: unknown }).custom_id
      if (typeof id === "string" && id !== "") ids.push(id)
      else problems.push(`${input} line ${i + 1}: no custom_id`)
    } catch {
      problems.push(`${input} line ${i + 1}: not valid JSON`)
    }
  })
  return ids
}

const readPart = async (
  file: string,
  known: ReadonlySet<string>,
  results: Map<string, Line>,
  problems: Array<string>
) => {
  const lines = (await Fs.readFile(file, "utf8")).split("\n")
  lines.forEach((text, i) => {
    if (text.trim() === "") return
    const where = `${file} line ${i + 1}`
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      // A torn last line (a killed shard): that request is not done; resuming the shard cuts it off.
      if (i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === "")) return
      problems.push(`${where}: not valid JSON`)
      return
    }
    const id = parsed?.["custom_id"]
    if (
      typeof parsed !== "object" ||
      parsed === null ||
      typeof id !== "string" ||
      !("response" in parsed) ||
      !("error" in parsed)
    ) {
      problems.push(`${where}: not a Batch output line (custom_id, response, error)`)
      return
    }
    if (!known.has(id)) {
      problems.push(
        `${where}: custom_id ${JSON.stringify(id)} is not in the input — is this the output of another job?`
      )
      return
    }
    const line: Line = { text, ok: isOk(parsed), file, line: i + 1 }
    const before = results.get(id)
    if (before === undefined || (!before.ok && line.ok)) results.set(id, line)
    else if (before.ok === line.ok) {
      problems.push(
        `${where}: custom_id ${JSON.stringify(id)} also has a result in ${before.file} line ${before.line} (the shards overlapped)`
      )
    }
  })
}

/** Runs the merge; returns the exit code. @internal */
export const merge = (flags: MergeFlags): Effect.Effect<number> =>
  Effect.promise(async () => {
    const problems: Array<string> = []
    const ids = await readInputIds(flags.input, problems)
    const known = new Set(ids)
    const results = new Map<string, Line>()
    for (const part of flags.parts) await readPart(part, known, results, problems)
    if (problems.length > 0) {
      process.stderr.write(
        `${problems.map((p) => `sluice merge: ${p}`).join("\n")}\nNothing was written to ${flags.output}.\n`
      )
      return 1
    }
    const missing = ids.filter((id) => !results.has(id))
    const body = ids.flatMap((id) => {
      const line = results.get(id)
      return line === undefined ? [] : [`${line.text}\n`]
    })
    const temp = Path.join(Path.dirname(flags.output), `.${Path.basename(flags.output)}.merge-${process.pid}`)
    const handle = await Fs.open(temp, "w")
    try {
      await handle.writeFile(body.join(""))
      await handle.sync()
    } finally {
      await handle.close()
    }
    await Fs.rename(temp, flags.output)
    const failed = ids.filter((id) => results.get(id)?.ok === false).length
    process.stdout.write(
      `sluice merge: ${results.size} of ${ids.length} results (${failed} failed) from ${flags.parts.length} output(s) → ${flags.output}\n`
    )
    if (missing.length > 0) {
      const shown = missing
        .slice(0, 10)
        .map((id) => JSON.stringify(id))
        .join(", ")
      process.stderr.write(
        `${missing.length} request(s) have no result yet (${shown}${missing.length > 10 ? ", …" : ""}): resume their shard with --resume, then merge again.\n`
      )
      return 2
    }
    return 0
  })
