import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { get, KEY, post } from "./helpers.js"

const upload = (url: string, content: string, purpose = "batch", filename = "input.jsonl") =>
  Effect.promise(async () => {
    const form = new FormData()
    form.append("purpose", purpose)
    form.append("file", new Blob([content], { type: "application/jsonl" }), filename)
    const res = await fetch(`${url}/files`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: form })
    return { status: res.status, body: await res.json() }
  })

/**
 * Polls a batch until its status is one of `statuses`, recording every status seen on the way. The deadline is
 * far above the lifecycle's timers: it only turns a batch that is stuck into a failure that says so.
 */
/** `POST /batches` of an uploaded file for `endpoint`, with the only window the API accepts. */
const createBatch = (url: string, inputFileId: string, endpoint: string) =>
  post(url, "/batches", { input_file_id: inputFileId, endpoint, completion_window: "24h" })

const waitForStatus = (url: string, id: string, statuses: ReadonlyArray<string>, seen = new Set<string>()) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 10_000
    for (;;) {
      const batch = JSON.parse((yield* get(url, `/batches/${id}`)).text)
      seen.add(batch.status)
      if (statuses.includes(batch.status)) return batch
      if (Date.now() > deadline) throw new Error(`batch ${id} never reached ${statuses.join("|")}: saw ${[...seen]}`)
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 2)))
    }
  })

describe("files", () => {
  it.effect("multipart upload, metadata, content round-trip, list and delete", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const content = '{"a":"héllo 🌊"}\n{"b":"数据"}\n'
      const up = yield* upload(sim.url, content, "batch", "data.jsonl")
      expect(up.status).toBe(200)
      expect(up.body).toMatchObject({
        object: "file",
        purpose: "batch",
        filename: "data.jsonl",
        bytes: Buffer.byteLength(content),
        status: "processed"
      })
      expect(up.body.id).toMatch(/^file-/)
      const meta = JSON.parse((yield* get(sim.url, `/files/${up.body.id}`)).text)
      expect(meta).toEqual(up.body)
      const downloaded = yield* get(sim.url, `/files/${up.body.id}/content`)
      expect(downloaded.text).toBe(content)
      const list = JSON.parse((yield* get(sim.url, "/files")).text)
      expect(list.data.map((f: { id: string }) => f.id)).toContain(up.body.id)
      const deleted = yield* Effect.promise(() =>
        fetch(`${sim.url}/files/${up.body.id}`, { method: "DELETE", headers: { authorization: `Bearer ${KEY}` } }).then(
          (r) => r.json()
        )
      )
      expect(deleted).toEqual({ id: up.body.id, object: "file", deleted: true })
      const gone = yield* get(sim.url, `/files/${up.body.id}`)
      expect(gone.status).toBe(404)
      const noPurpose = yield* Effect.promise(async () => {
        const form = new FormData()
        form.append("file", new Blob(["x"]), "x.jsonl")
        const res = await fetch(`${sim.url}/files`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}` },
          body: form
        })
        return { status: res.status, body: await res.json() }
      })
      expect(noPurpose.status).toBe(400)
      expect(noPurpose.body.error.param).toBe("purpose")
    })
  )
})

describe("batches", () => {
  it.effect("runs validating → in_progress → finalizing → completed with output and error files", () =>
    Effect.gen(function* () {
      // in_progress and finalizing last 100 ms each, so the poll below (every few ms) sees one of them even when
      // the machine pauses this process for tens of milliseconds; at 5 ms both could pass between two polls.
      const sim = yield* Simulator.start({ batch: { validatingMs: 5, inProgressMs: 100, finalizingMs: 100 } })
      const line = (id: string, body: unknown) =>
        JSON.stringify({ custom_id: id, method: "POST", url: "/v1/chat/completions", body })
      const input = [
        line("ok-1", { model: "gpt-4o-mini", messages: [{ role: "user", content: "one" }] }),
        line("ok-2", { model: "gpt-4o-mini", messages: [{ role: "user", content: "two" }], max_tokens: 2 }),
        line("bad-model", { model: "text-davinci-003", messages: [{ role: "user", content: "x" }] }),
        line("no-messages", { model: "gpt-4o-mini" })
      ].join("\n")
      const file = yield* upload(sim.url, input)
      const created = yield* createBatch(sim.url, file.body.id, "/v1/chat/completions")
      expect(created.status).toBe(200)
      const batch = JSON.parse(created.text)
      expect(batch).toMatchObject({ object: "batch", status: "validating", input_file_id: file.body.id })
      expect(batch.id).toMatch(/^batch_/)
      const seen = new Set<string>([batch.status])
      const done = yield* waitForStatus(sim.url, batch.id, ["completed"], seen)
      expect(done.status).toBe("completed")
      expect(seen.has("in_progress") || seen.has("finalizing")).toBe(true)
      expect(done.request_counts).toEqual({ total: 4, completed: 2, failed: 2 })
      expect(done.in_progress_at).not.toBeNull()
      expect(done.finalizing_at).not.toBeNull()
      expect(done.completed_at).not.toBeNull()

      const output = (yield* get(sim.url, `/files/${done.output_file_id}/content`)).text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      expect(output.map((o) => o.custom_id).sort()).toEqual(["ok-1", "ok-2"])
      for (const o of output) {
        expect(o.id).toMatch(/^batch_req_/)
        expect(o.error).toBeNull()
        expect(o.response.status_code).toBe(200)
        expect(o.response.request_id).toMatch(/^req_/)
        expect(o.response.body.object).toBe("chat.completion")
      }
      // the same handler as the HTTP endpoint: same deterministic answer
      const direct = JSON.parse(
        (yield* post(sim.url, "/chat/completions", {
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "one" }]
        })).text
      )
      const ok1 = output.find((o) => o.custom_id === "ok-1")
      expect(ok1.response.body.choices[0].message.content).toBe(direct.choices[0].message.content)
      expect(output.find((o) => o.custom_id === "ok-2").response.body.choices[0].finish_reason).toBe("length")

      const errors = (yield* get(sim.url, `/files/${done.error_file_id}/content`)).text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      const byId = Object.fromEntries(errors.map((e) => [e.custom_id, e]))
      expect(byId["bad-model"].response.status_code).toBe(404)
      expect(byId["bad-model"].response.body.error.code).toBe("model_not_found")
      expect(byId["no-messages"].response.status_code).toBe(400)

      const list = JSON.parse((yield* get(sim.url, "/batches")).text)
      expect(list.object).toBe("list")
      expect(list.data[0].id).toBe(batch.id)
    })
  )

  it.effect("malformed input fails the batch; cancel moves to cancelled; bad requests are rejected", () =>
    Effect.gen(function* () {
      // The batch to cancel stays in_progress (a minute) until it is cancelled, whatever the machine's load.
      const sim = yield* Simulator.start({ batch: { validatingMs: 5, inProgressMs: 60_000, finalizingMs: 5 } })
      const bad = yield* upload(sim.url, "not json\n")
      const failed = JSON.parse((yield* createBatch(sim.url, bad.body.id, "/v1/chat/completions")).text)
      const failedDone = yield* waitForStatus(sim.url, failed.id, ["failed"])
      expect(failedDone.errors.data[0]).toMatchObject({ code: "invalid_json_line", line: 1 })

      const good = yield* upload(
        sim.url,
        JSON.stringify({
          custom_id: "a",
          method: "POST",
          url: "/v1/embeddings",
          body: { model: "text-embedding-3-small", input: "x" }
        })
      )
      const running = JSON.parse((yield* createBatch(sim.url, good.body.id, "/v1/embeddings")).text)
      yield* waitForStatus(sim.url, running.id, ["in_progress"])
      const cancelling = JSON.parse((yield* post(sim.url, `/batches/${running.id}/cancel`, {})).text)
      expect(cancelling.status).toBe("cancelling")
      const cancelled = yield* waitForStatus(sim.url, running.id, ["cancelled"])
      expect(cancelled.output_file_id).toBeNull()

      const missingFile = yield* createBatch(sim.url, "file-nope", "/v1/chat/completions")
      expect(missingFile.status).toBe(404)
      const badEndpoint = yield* createBatch(sim.url, good.body.id, "/v1/completions")
      expect(badEndpoint.status).toBe(400)
      expect(JSON.parse(badEndpoint.text).error.param).toBe("endpoint")
    })
  )
})
