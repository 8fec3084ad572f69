import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { live, osError, withFiles } from "./support/fileSystem.js"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator, type Stats } from "@sluice/simulator"
import { Deferred, Effect, Fiber, Layer, Stream, SubscriptionRef } from "effect"
import { Batch } from "../src/index.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const tempDir = scopedTempDir("sluice-batch-")

const chatLine = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `question ${i}` }], max_tokens: 32, ...extra }
  })

const embeddingLine = (i: number) =>
  JSON.stringify({
    custom_id: `emb-${i}`,
    method: "POST",
    url: "/v1/embeddings",
    body: { model: "text-embedding-3-small", input: `text ${i}` }
  })

const job = (n: number) => Array.from({ length: n }, (_, i) => (i % 5 === 4 ? embeddingLine(i) : chatLine(i)))

const client = (url: string, options: { gates?: Gates.DefaultsOptions; key?: string } = {}) =>
  OpenAi.layer.pipe(
    Layer.provideMerge(Batch.layerMeter),
    Layer.provide(Gates.layerDefaults({ modelLifecycle: false, ...options.gates })),
    Layer.provide(OpenAiConfig.layer({ baseUrl: url, retry: { baseDelayMs: 20, maxDelayMs: 500 } })),
    Layer.provide(Credentials.static(options.key ?? "sk-test"))
  )

/** Waits until a progress snapshot satisfies `ok` (snapshots are set from the job's counters every 100 ms). */
const progressUntil = (progress: SubscriptionRef.SubscriptionRef<Batch.Progress>, ok: (p: Batch.Progress) => boolean) =>
  SubscriptionRef.changes(progress).pipe(Stream.takeUntil(ok), Stream.runDrain)

const readOutput = (path: string) =>
  Effect.promise(() => Fs.readFile(path, "utf8")).pipe(
    Effect.map((text) =>
      text
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Batch.OutputLine)
    )
  )

describe("Batch.validate", () => {
  it.effect("lists every bad line with the field and problem", () =>
    Effect.gen(function* () {
      const lines = [
        chatLine(1),
        "{not json",
        JSON.stringify({ method: "POST", url: "/v1/chat/completions", body: { model: "m", messages: [] } }),
        chatLine(1),
        JSON.stringify({ custom_id: "x", method: "GET", url: "/v1/chat/completions", body: {} }),
        JSON.stringify({ custom_id: "y", method: "POST", url: "/v1/images", body: {} }),
        "",
        JSON.stringify({ custom_id: "z", method: "POST", url: "/v1/embeddings", body: { model: "e" } }),
        chatLine(9, { stream: true })
      ]
      const error = yield* Effect.flip(Batch.validate(Stream.fromIterable(lines)))
      expect(error._tag).toBe("BatchInputInvalid")
      expect(error.badLines).toEqual([2, 3, 4, 5, 6, 8, 9])
      const fields = error.problems.map((p) => `${p.line}:${p.field}`)
      expect(fields).toContain("3:custom_id")
      expect(fields).toContain("3:body.messages")
      expect(fields).toContain("4:custom_id")
      expect(fields).toContain("5:method")
      expect(fields).toContain("6:url")
      expect(fields).toContain("8:body.input")
      expect(fields).toContain("9:body.stream")
      expect(error.message).toContain("line 4: custom_id: duplicate (first used on line 1)")
    })
  )

  live("invalid input: nothing sent, output not created", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const error = yield* Effect.flip(
        Batch.run(Stream.fromIterable([chatLine(1), "nope"]), { output }).pipe(Effect.provide(client(sim.url)))
      )
      expect(error._tag).toBe("BatchInputInvalid")
      expect((yield* sim.stats).requests).toBe(0)
      yield* Effect.promise(() => expect(Fs.stat(output)).rejects.toThrow())
    })
  )
})

describe("Batch.run against the simulator", () => {
  live(
    "every request succeeds under rate limits and faults; each custom_id exactly once",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start({
          rpm: 6000,
          tpm: 600_000,
          seed: 3,
          faults: { rate500: 0.02, rate503: 0.02, rate502Html: 0.02, rateReset: 0.02, rateTruncatedJson: 0.02 }
        })
        const dir = yield* tempDir
        const output = Path.join(dir, "out.jsonl")
        const progress = yield* Batch.makeProgress
        const summary = yield* Batch.run(Stream.fromIterable(job(200)), { output, concurrency: 16, progress }).pipe(
          Effect.provide(client(sim.url))
        )
        expect(summary).toMatchObject({ total: 200, succeeded: 200, failed: 0, skipped: 0, pending: 0, stopped: null })
        expect(summary.retries).toBeGreaterThan(0)
        expect(summary.requests_sent).toBeGreaterThanOrEqual(200)
        expect(summary.prompt_tokens).toBeGreaterThan(0)
        expect(summary.cost_usd).toBeGreaterThan(0)
        const lines = yield* readOutput(output)
        expect(lines).toHaveLength(200)
        expect(new Set(lines.map((l) => l.custom_id)).size).toBe(200)
        expect(
          lines.every((l) => l.response?.status_code === 200 && l.error === null && l.id.startsWith("batch_req_"))
        ).toBe(true)
        // ids keep the shape batch_req_<24 hex> and are unique (a random prefix per process plus a counter)
        expect(lines.every((l) => /^batch_req_[0-9a-f]{24}$/.test(l.id))).toBe(true)
        expect(new Set(lines.map((l) => l.id)).size).toBe(200)
        const last = yield* SubscriptionRef.get(progress)
        expect(last.done).toBe(200)
      }),
    // 2-5 s on an idle machine, 5-12 s with the CPU taken by other work; the timeout only guards against a hang.
    120_000
  )

  live("refuses an existing output; resume skips finished ids and repairs a torn line", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const input = job(40)
      yield* Batch.run(Stream.fromIterable(input.slice(0, 10)), { output }).pipe(Effect.provide(client(sim.url)))
      // a crash mid-write: half a line at the end
      yield* Effect.promise(() => Fs.appendFile(output, '{"id":"batch_req_x","custom_id":"req-'))
      const refused = yield* Effect.flip(
        Batch.run(Stream.fromIterable(input), { output }).pipe(Effect.provide(client(sim.url)))
      )
      expect(refused._tag).toBe("OutputExists")
      const before = (yield* sim.stats).requests
      const summary = yield* Batch.run(Stream.fromIterable(input), { output, mode: "resume" }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(summary).toMatchObject({ total: 40, skipped: 10, succeeded: 30 })
      expect((yield* sim.stats).requests - before).toBe(30)
      const lines = yield* readOutput(output)
      expect(lines).toHaveLength(40)
      expect(new Set(lines.map((l) => l.custom_id)).size).toBe(40)
    })
  )

  live("failures are written as response lines; retryFailed supersedes them atomically", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ retiredModels: ["gpt-4-0314"] })
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const input = [chatLine(1), chatLine(2, { model: "gpt-4-0314" }), chatLine(3)]
      const first = yield* Batch.run(Stream.fromIterable(input), { output }).pipe(Effect.provide(client(sim.url)))
      expect(first).toMatchObject({ succeeded: 2, failed: 1 })
      const failed = (yield* readOutput(output)).find((l) => l.custom_id === "req-2")!
      expect(failed.response?.status_code).toBe(404)
      expect(failed.response?.body).toMatchObject({ error: { code: "model_not_found" } })
      yield* sim.update({ retiredModels: [] })
      const plain = yield* Batch.run(Stream.fromIterable(input), { output, mode: "resume" }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(plain).toMatchObject({ skipped: 3, succeeded: 0 })
      const again = yield* Batch.run(Stream.fromIterable(input), { output, mode: "resume", retryFailed: true }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(again).toMatchObject({ skipped: 2, succeeded: 1, failed: 0 })
      const lines = yield* readOutput(output)
      expect(lines).toHaveLength(3)
      expect(lines.every((l) => l.response?.status_code === 200)).toBe(true)
    })
  )

  live("quota: the job stops at once, unfinished requests stay pending", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ quotaUsd: 0.0005 })
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const summary = yield* Batch.run(Stream.fromIterable(job(300)), { output, concurrency: 8 }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(summary.stopped?.reason).toBe("quota")
      expect(summary.pending).toBeGreaterThan(0)
      const stats = yield* sim.stats
      expect(stats.quotaExceeded).toBeLessThanOrEqual(8)
      const lines = yield* readOutput(output)
      expect(lines.length).toBe(summary.succeeded + summary.failed)
      expect(lines.every((l) => l.response?.status_code === 200)).toBe(true)
    })
  )

  live("budget: stops before crossing the ceiling", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const ceiling = 0.0004
      const summary = yield* Batch.run(Stream.fromIterable(job(300)), { output, concurrency: 8 }).pipe(
        Effect.provide(client(sim.url, { gates: { budget: { ceilingUsd: ceiling } } }))
      )
      expect(summary.stopped?.reason).toBe("budget")
      expect(summary.succeeded).toBeGreaterThan(0)
      expect(summary.cost_usd).toBeLessThanOrEqual(ceiling)
      expect((yield* sim.stats).costUsd).toBeLessThanOrEqual(ceiling)
    })
  )

  live("shutdown: stops admitting, drains in-flight requests, resume finishes the rest", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { requestMs: 20 } })
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const input = job(200)
      // Shut down once 20 lines are done (an event, not a wall-clock guess that a slow machine could outrun).
      const progress = yield* Batch.makeProgress
      const twentyDone = SubscriptionRef.changes(progress).pipe(
        Stream.takeUntil((p) => p.done >= 20),
        Stream.runDrain
      )
      const summary = yield* Batch.run(Stream.fromIterable(input), {
        output,
        concurrency: 4,
        progress,
        shutdown: twentyDone
      }).pipe(Effect.provide(client(sim.url)))
      expect(summary.stopped?.reason).toBe("interrupted")
      expect(summary.pending).toBeGreaterThan(0)
      const written = (yield* readOutput(output)).length
      expect(written).toBe(summary.succeeded)
      const stats = yield* sim.stats
      expect(stats.successes).toBe(written)
      const rest = yield* Batch.run(Stream.fromIterable(input), { output, mode: "resume", concurrency: 16 }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(rest.succeeded + rest.skipped).toBe(200)
      expect((yield* sim.stats).duplicateSuccesses).toBe(0)
    })
  )

  live(
    "progress comes from the counters, not per request: a few snapshots for any number of lines, done never goes back, the last is complete",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start({ latency: { requestMs: 2 } })
        const dir = yield* tempDir
        const watch = (lines: number, progressInterval: "1 hour" | "5 millis") =>
          Effect.gen(function* () {
            const progress = yield* Batch.makeProgress
            const seen: Array<Batch.Progress> = []
            const collector = yield* SubscriptionRef.changes(progress).pipe(
              Stream.runForEach((p) => Effect.sync(() => seen.push(p))),
              Effect.forkChild
            )
            yield* Effect.sleep("50 millis")
            const summary = yield* Batch.run(Stream.fromIterable(job(lines)), {
              output: Path.join(dir, `out-${lines}-${progressInterval}.jsonl`),
              concurrency: 4,
              progress,
              progressInterval
            }).pipe(Effect.provide(client(sim.url)))
            yield* Effect.sleep("50 millis")
            yield* Fiber.interrupt(collector)
            expect(summary).toMatchObject({ total: lines, succeeded: lines, pending: 0 })
            for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done)
            expect(seen[seen.length - 1]).toMatchObject({ done: lines, succeeded: lines, in_flight: 0, pending: 0 })
            return seen.length
          })
        // with an interval longer than the job: the initial value, the job's start and its end, whatever the lines
        expect(yield* watch(50, "1 hour")).toBeLessThanOrEqual(3)
        expect(yield* watch(300, "1 hour")).toBeLessThanOrEqual(3)
        // a short interval: snapshots while it runs (the job takes longer than a few intervals)
        expect(yield* watch(300, "5 millis")).toBeGreaterThan(3)
      }),
    60_000
  )

  live("Gates + meter count 429s and retries", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ faults: { rate429: 0.1 } })
      const dir = yield* tempDir
      const summary = yield* Batch.run(Stream.fromIterable(job(100)), {
        output: Path.join(dir, "o.jsonl"),
        concurrency: 8
      }).pipe(Effect.provide(client(sim.url, { gates: { circuitBreaker: false } })))
      expect(summary.succeeded).toBe(100)
      expect(summary.rate_limited).toBeGreaterThan(0)
      expect(summary.retries).toBeGreaterThanOrEqual(summary.rate_limited)
    })
  )
})

describe("Batch.remote against the simulator's Batch API", () => {
  live("uploads, polls, downloads output and error files into the same format; resume skips", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ retiredModels: ["gpt-4-0314"] })
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const input = [...job(30), chatLine(99, { model: "gpt-4-0314" })]
      const created: Array<string> = []
      const summary = yield* Batch.remote(Stream.fromIterable(input), {
        output,
        pollInterval: "50 millis",
        onCreated: (id) => Effect.sync(() => created.push(id))
      }).pipe(Effect.provide(client(sim.url)))
      expect(created).toHaveLength(2) // one batch per endpoint
      expect(summary).toMatchObject({ total: 31, succeeded: 30, failed: 1, pending: 0, stopped: null })
      const lines = yield* readOutput(output)
      expect(lines).toHaveLength(31)
      expect(lines.find((l) => l.custom_id === "req-99")?.response?.status_code).toBe(404)
      const again = yield* Batch.remote(Stream.fromIterable(input), {
        output,
        mode: "resume",
        pollInterval: "50 millis"
      }).pipe(Effect.provide(client(sim.url)))
      expect(again).toMatchObject({ skipped: 31, succeeded: 0 })
    })
  )

  live("splits an endpoint's lines into several batches beyond the per-file limits (requests, bytes)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const input = job(30) // 24 chat lines, 6 embeddings lines
      const created: Array<string> = []
      const summary = yield* Batch.remote(Stream.fromIterable(input), {
        output: Path.join(dir, "by-count.jsonl"),
        pollInterval: "50 millis",
        maxRequestsPerBatch: 7,
        onCreated: (id) => Effect.sync(() => created.push(id))
      }).pipe(Effect.provide(client(sim.url)))
      expect(created).toHaveLength(5) // chat 7 + 7 + 7 + 3, embeddings 6
      expect(summary).toMatchObject({ total: 30, succeeded: 30, failed: 0, pending: 0, stopped: null })
      const ids = (yield* readOutput(Path.join(dir, "by-count.jsonl"))).map((line) => line.custom_id)
      expect(new Set(ids).size).toBe(30)
      // Bytes: a limit of three chat lines' worth gives files of at most three lines.
      const lineBytes = Math.max(...input.map((line) => Buffer.byteLength(line) + 1))
      const bySize: Array<string> = []
      const sized = yield* Batch.remote(Stream.fromIterable(input), {
        output: Path.join(dir, "by-size.jsonl"),
        pollInterval: "50 millis",
        maxBytesPerBatch: 3 * lineBytes,
        onCreated: (id) => Effect.sync(() => bySize.push(id))
      }).pipe(Effect.provide(client(sim.url)))
      expect(bySize.length).toBeGreaterThanOrEqual(Math.ceil(24 / 3) + Math.ceil(6 / 3))
      expect(sized).toMatchObject({ total: 30, succeeded: 30, failed: 0 })
    })
  )
})

describe("Batch: the output must belong to the input", () => {
  const writeInput = (dir: string, lines: ReadonlyArray<string>, trailingNewline = true) =>
    Effect.promise(async () => {
      const path = Path.join(dir, "in.jsonl")
      await Fs.writeFile(path, `${lines.join("\n")}${trailingNewline ? "\n" : ""}`)
      return path
    })

  live("resume refuses an output that is not this job's: each line named, nothing sent or changed", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const input = job(5)
      const cases: ReadonlyArray<{ readonly text: string; readonly line: number; readonly reason: RegExp }> = [
        { text: '{"custom_id":"req-1","foo":"bar"}\n', line: 1, reason: /custom_id "req-1": not a batch output line/ },
        { text: `${input[0]}\n`, line: 1, reason: /an input line \(method\/url\/body\)/ },
        {
          text: `${JSON.stringify({ id: "b1", custom_id: "req-0", response: { status_code: 200, request_id: null, body: {} }, error: null })}\n${JSON.stringify({ id: "b2", custom_id: "other-7", response: { status_code: 200, request_id: null, body: {} }, error: null })}\n`,
          line: 2,
          reason: /custom_id "other-7" is not in the input/
        },
        {
          text: `${JSON.stringify({ id: "b1", custom_id: "req-0", response: { status_code: "ok", body: {} }, error: null })}\n`,
          line: 1,
          reason: /response\.status_code is not an HTTP status/
        },
        { text: "[1,2]\n", line: 1, reason: /a JSON array, not an object/ },
        // not a torn output line (does not start with "{"): a foreign file is never cut
        { text: "hello world", line: 1, reason: /not valid JSON, and not a torn batch output line/ }
      ]
      for (const [index, { text, line, reason }] of cases.entries()) {
        const output = Path.join(dir, `out-${index}.jsonl`)
        yield* Effect.promise(() => Fs.writeFile(output, text))
        const error = yield* Effect.flip(
          Batch.run(Stream.fromIterable(input), { output, mode: "resume" }).pipe(Effect.provide(client(sim.url)))
        )
        expect(error._tag).toBe("OutputCorrupt")
        if (error._tag !== "OutputCorrupt") continue
        expect(error.line).toBe(line)
        expect(error.reason).toMatch(reason)
        expect(error.message).toContain(`at line ${line}`)
        expect(yield* Effect.promise(() => Fs.readFile(output, "utf8"))).toBe(text)
      }
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  live("a whole last line without its newline is kept (not cut as torn), and the job appends after it", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const input = job(3)
      const done = JSON.stringify({
        id: "batch_req_1",
        custom_id: "req-0",
        response: { status_code: 200, request_id: null, body: {} },
        error: null
      })
      yield* Effect.promise(() => Fs.writeFile(output, done))
      const summary = yield* Batch.run(Stream.fromIterable(input), { output, mode: "resume" }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(summary).toMatchObject({ skipped: 1, succeeded: 2 })
      const lines = yield* readOutput(output)
      expect(lines.map((l) => l.custom_id).sort()).toEqual(["req-0", "req-1", "req-2"])
    })
  )

  live("the output can never be the input: same path, symlink or hard link, in every mode", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const input = job(3)
      // no trailing newline: a resume that took the input for a journal with a torn line would cut it
      const inputPath = yield* writeInput(dir, input, false)
      const original = yield* Effect.promise(() => Fs.readFile(inputPath, "utf8"))
      const symlink = Path.join(dir, "link.jsonl")
      const hardlink = Path.join(dir, "hard.jsonl")
      yield* Effect.promise(() => Fs.symlink(inputPath, symlink))
      yield* Effect.promise(() => Fs.link(inputPath, hardlink))
      const relative = Path.relative(process.cwd(), inputPath)
      for (const [output, how] of [
        [inputPath, "same path"],
        [relative, "same path"],
        [symlink, "same file"],
        [hardlink, "same file"]
      ] as const) {
        for (const mode of ["new", "resume", "overwrite"] as const) {
          const error = yield* Effect.flip(
            Batch.run(Batch.linesFromFile(inputPath), { output, mode }).pipe(Effect.provide(client(sim.url)))
          )
          expect(error._tag).toBe("OutputIsInput")
          if (error._tag !== "OutputIsInput") continue
          expect(error.how).toBe(how)
          expect(error.message).toContain("nothing was sent and neither file was touched")
        }
      }
      // the same with an explicit `input` and lines from anywhere, and for remote
      const explicit = yield* Effect.flip(
        Batch.run(Stream.fromIterable(input), { input: inputPath, output: hardlink, mode: "overwrite" }).pipe(
          Effect.provide(client(sim.url))
        )
      )
      expect(explicit._tag).toBe("OutputIsInput")
      const remote = yield* Effect.flip(
        Batch.remote(Batch.linesFromFile(inputPath), { output: symlink, mode: "overwrite" }).pipe(
          Effect.provide(client(sim.url))
        )
      )
      expect(remote._tag).toBe("OutputIsInput")
      expect(yield* Effect.promise(() => Fs.readFile(inputPath, "utf8"))).toBe(original)
      expect((yield* sim.stats).requests).toBe(0)
    })
  )
})

describe("Batch.run reads its input in two passes", () => {
  /** A stream whose every run is counted, and whose second run yields `second` instead of `first`. */
  const twice = (first: ReadonlyArray<string>, second: ReadonlyArray<string>) => {
    let runs = 0
    const stream = Stream.suspend(() => Stream.fromIterable(runs++ === 0 ? first : second))
    return { stream, runs: () => runs }
  }

  live("a valid input is read twice (a validating pass, then the run) and each request is sent once", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const input = twice(job(30), job(30))
      const summary = yield* Batch.run(input.stream, { output: Path.join(dir, "out.jsonl"), concurrency: 4 }).pipe(
        Effect.provide(client(sim.url))
      )
      expect(input.runs()).toBe(2)
      expect(summary).toMatchObject({ total: 30, succeeded: 30, pending: 0 })
      expect((yield* sim.stats).requests).toBe(30)
    })
  )

  live("an fsync that fails (EIO) fails the job with BatchIoError instead of a summary that says done", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const eio = osError("sync", "EIO")
      const syncFails = withFiles(() => ({ sync: Effect.fail(eio) }))
      // a short job: every line written before the first background fsync is due, so only the job's last one runs
      const error = yield* Effect.flip(
        Batch.run(Stream.fromIterable(job(5)), { output, concurrency: 5 }).pipe(
          Effect.provide(client(sim.url)),
          Effect.provide(syncFails)
        )
      )
      expect(error).toMatchObject({ _tag: "BatchIoError", path: output, reason: "EIO" })
      expect(yield* readOutput(output)).toHaveLength(5)
    })
  )

  live("a line that changed after the validating pass fails the job, naming it; nothing of it is sent", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const changed = job(10).map((line, i) => (i === 4 ? '{"custom_id": "req-4", "method": "GET"}' : line))
      const error = yield* Effect.flip(
        Batch.run(twice(job(10), changed).stream, { output: Path.join(dir, "out.jsonl"), concurrency: 2 }).pipe(
          Effect.provide(client(sim.url))
        )
      )
      expect(error._tag).toBe("BatchIoError")
      expect(error.message).toContain("the input changed while the job ran: line 5")
      // the lines are parsed a chunk at a time before any is handed out: this chunk held every line
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  live("a one-shot input (empty on its second run) fails the job instead of finishing with nothing done", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        Batch.run(twice(job(10), []).stream, { output: Path.join(dir, "out.jsonl"), concurrency: 2 }).pipe(
          Effect.provide(client(sim.url))
        )
      )
      expect(error._tag).toBe("BatchIoError")
      expect(error.message).toContain("0 of 10 requests read")
      expect((yield* sim.stats).requests).toBe(0)
    })
  )
})

describe("Batch options out of range", () => {
  live("concurrency 0, a negative grace period, a zero poll interval: InvalidOptions, nothing sent or written", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const cases = [
        [Batch.run(Stream.fromIterable(job(3)), { output, concurrency: 0 }), "concurrency", "0"],
        [Batch.run(Stream.fromIterable(job(3)), { output, concurrency: -4 }), "concurrency", "-4"],
        [Batch.run(Stream.fromIterable(job(3)), { output, gracePeriod: -1 }), "gracePeriod", "-1"],
        [Batch.run(Stream.fromIterable(job(3)), { output, mode: "append" as never }), "mode", '"append"'],
        [Batch.remote(Stream.fromIterable(job(3)), { output, pollInterval: 0 }), "pollInterval", "0"],
        [Batch.remote(Stream.fromIterable(job(3)), { output, maxRequestsPerBatch: 0 }), "maxRequestsPerBatch", "0"]
      ] as const
      for (const [job, option, value] of cases) {
        const error = yield* Effect.flip(job).pipe(Effect.provide(client(sim.url)))
        expect(error._tag).toBe("InvalidOptions")
        if (error._tag !== "InvalidOptions") continue
        expect(error.option).toBe(option)
        expect(error.value).toBe(value)
        expect(error.message).toContain(`invalid option ${option}: got ${value}, expected`)
      }
      expect((yield* sim.stats).requests).toBe(0)
      yield* Effect.promise(() => expect(Fs.stat(output)).rejects.toThrow())
    })
  )
})

describe("Batch: stopping with requests in flight", () => {
  /** Polls the simulator until `f` holds (an event, not a guess at how long the machine takes). */
  const until = (sim: Simulator.Running, f: (stats: Stats.Stats) => boolean) =>
    Effect.gen(function* () {
      while (!f(yield* sim.stats)) yield* Effect.sleep("10 millis")
    })

  live(
    "shutdown while a request waits at the gates: it is never sent, the one in flight is drained, run returns once it is",
    () =>
      Effect.gen(function* () {
        // The limiter knows no limit yet: the first request is a probe, the second waits for its answer (1.5 s).
        const sim = yield* Simulator.start({ latency: { requestMs: 1500 } })
        const dir = yield* tempDir
        const output = Path.join(dir, "out.jsonl")
        const shutdown = yield* Deferred.make<void>()
        const progress = yield* Batch.makeProgress
        const fiber = yield* Batch.run(Stream.fromIterable(job(10)), {
          output,
          concurrency: 2,
          gracePeriod: "20 seconds",
          shutdown: Deferred.await(shutdown),
          progress
        }).pipe(Effect.provide(client(sim.url)), Effect.forkChild)
        yield* until(sim, (stats) => stats.inFlight === 1)
        // both requests are in flight: one sent, one waiting at the gates
        yield* progressUntil(progress, (p) => p.in_flight === 2)
        yield* Deferred.succeed(shutdown, undefined)
        const started = Date.now()
        const summary = yield* Fiber.join(fiber)
        // the probe's answer came within the grace period; run did not wait out the other 18 s
        expect(Date.now() - started).toBeLessThan(10_000)
        expect(summary).toMatchObject({ succeeded: 1, failed: 0, pending: 9, requests_sent: 1 })
        expect(summary.stopped?.reason).toBe("interrupted")
        yield* Effect.sleep("500 millis")
        const stats = yield* sim.stats
        expect(stats.requests).toBe(1)
        expect((yield* readOutput(output)).map((line) => line.custom_id)).toEqual(["req-0"])
      }),
    30_000
  )

  live(
    "a request whose attempt fails during the grace period is not retried: it stays pending",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start({ faults: { rateHang: 1 } })
        const dir = yield* tempDir
        const output = Path.join(dir, "out.jsonl")
        const shutdown = yield* Deferred.make<void>()
        // every attempt hangs and times out after 400 ms; the client would retry it (20-500 ms backoff)
        const layer = OpenAi.layer.pipe(
          Layer.provideMerge(Batch.layerMeter),
          Layer.provide(
            Gates.layerDefaults({
              modelLifecycle: false,
              rateLimiter: { limitsFor: () => ({ requestsPerMinute: 6000, tokensPerMinute: 10_000_000 }) }
            })
          ),
          Layer.provide(
            OpenAiConfig.layer({
              baseUrl: sim.url,
              headersTimeout: "400 millis",
              retry: { baseDelayMs: 20, maxDelayMs: 500 }
            })
          ),
          Layer.provide(Credentials.static("sk-test"))
        )
        const fiber = yield* Batch.run(Stream.fromIterable(job(3)), {
          output,
          concurrency: 1,
          gracePeriod: "20 seconds",
          shutdown: Deferred.await(shutdown)
        }).pipe(Effect.provide(layer), Effect.forkChild)
        yield* until(sim, (stats) => stats.inFlight === 1)
        yield* Deferred.succeed(shutdown, undefined)
        const started = Date.now()
        const summary = yield* Fiber.join(fiber)
        // the attempt timed out, its retry was held: run returned at once, not after 20 s of retries
        expect(Date.now() - started).toBeLessThan(5_000)
        yield* Effect.sleep("1 second")
        const stats = yield* sim.stats
        expect(stats.requests).toBe(1)
        expect(summary).toMatchObject({ succeeded: 0, failed: 0, pending: 3, requests_sent: 1, retries: 0 })
        expect(yield* Effect.promise(() => Fs.readFile(output, "utf8"))).toBe("")
      }),
    30_000
  )

  live(
    "gracePeriod 0, two requests hung: after shutdown nothing new is sent, and requests_sent is what the server saw",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start({ latency: { requestMs: 1500 } })
        const dir = yield* tempDir
        const output = Path.join(dir, "out.jsonl")
        const shutdown = yield* Deferred.make<void>()
        const fiber = yield* Batch.run(Stream.fromIterable(job(10)), {
          output,
          concurrency: 2,
          gracePeriod: 0,
          shutdown: Deferred.await(shutdown)
        }).pipe(Effect.provide(client(sim.url)), Effect.forkChild)
        yield* until(sim, (stats) => stats.inFlight === 2)
        const before = yield* sim.stats
        yield* Deferred.succeed(shutdown, undefined)
        const summary = yield* Fiber.join(fiber)
        expect(summary.stopped?.reason).toBe("interrupted")
        // the two hung requests would have been answered after 1.5 s: wait past that for a late send or write
        yield* Effect.sleep("2 seconds")
        const stats = yield* sim.stats
        expect(stats.requests).toBe(before.requests)
        expect(stats.successes).toBe(before.successes)
        expect(summary.requests_sent).toBe(stats.requests)
        expect(summary.succeeded).toBe(before.successes)
        expect(summary.pending).toBe(10 - before.successes)
        expect((yield* readOutput(output)).length).toBe(before.successes)
      }),
    30_000
  )

  live("interrupting run with two requests hung: nothing new is sent, requests in flight are counted", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { requestMs: 1500 } })
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const progress = yield* Batch.makeProgress
      const fiber = yield* Batch.run(Stream.fromIterable(job(10)), {
        output,
        concurrency: 2,
        gracePeriod: 0,
        progress
      }).pipe(Effect.provide(client(sim.url)), Effect.forkChild)
      yield* until(sim, (stats) => stats.inFlight === 2)
      const before = yield* sim.stats
      yield* Fiber.interrupt(fiber)
      yield* Effect.sleep("2 seconds")
      const stats = yield* sim.stats
      expect(stats.requests).toBe(before.requests)
      expect((yield* readOutput(output)).length).toBe(before.successes)
      const last = yield* SubscriptionRef.get(progress)
      expect(last.requests_sent).toBe(stats.requests)
      expect(last.in_flight).toBe(0)
    })
  )

  live("Progress.in_flight shows the requests in flight while they hang", () =>
    Effect.gen(function* () {
      // gates without a probe (a configured limit), so both requests go out at once and hang
      const sim = yield* Simulator.start({ faults: { rateHang: 1 } })
      const dir = yield* tempDir
      const progress = yield* Batch.makeProgress
      const shutdown = yield* Deferred.make<void>()
      const fiber = yield* Batch.run(Stream.fromIterable(job(4)), {
        output: Path.join(dir, "out.jsonl"),
        concurrency: 2,
        gracePeriod: 0,
        progress,
        shutdown: Deferred.await(shutdown)
      }).pipe(
        Effect.provide(
          client(sim.url, { gates: { rateLimiter: { requestsPerMinute: 6000, tokensPerMinute: 10_000_000 } } })
        ),
        Effect.forkChild
      )
      yield* until(sim, (stats) => stats.inFlight === 2)
      yield* progressUntil(progress, (p) => p.in_flight === 2)
      expect((yield* SubscriptionRef.get(progress)).in_flight).toBe(2)
      yield* Deferred.succeed(shutdown, undefined)
      const summary = yield* Fiber.join(fiber)
      expect(summary.requests_sent).toBe((yield* sim.stats).requests)
      expect(summary.requests_sent).toBe(2)
      expect((yield* SubscriptionRef.get(progress)).in_flight).toBe(0)
    })
  )
})

describe("Batch.layerMeter counts the attempts that were sent", () => {
  live("a refused key: requests_sent and retries are what the server saw (a refused re-attempt is no retry)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ keys: ["sk-the-only-valid-key"] })
      const dir = yield* tempDir
      const summary = yield* Batch.run(Stream.fromIterable(job(3)), {
        output: Path.join(dir, "out.jsonl"),
        concurrency: 1
      }).pipe(Effect.provide(client(sim.url)))
      expect(summary.stopped?.reason).toBe("auth")
      const stats = yield* sim.stats
      expect(stats.requests).toBeGreaterThan(0)
      expect(summary.requests_sent).toBe(stats.requests)
      expect(summary.retries).toBe(stats.requests - 1)
    })
  )
})
