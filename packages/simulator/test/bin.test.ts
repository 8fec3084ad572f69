import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { chatBody, get, post } from "./helpers.js"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
// tsx's CLI run by the node running the tests (Node 24 from the workspace), not whichever `node` is first on PATH
const tsx = fileURLToPath(new URL("../../../node_modules/tsx/dist/cli.mjs", import.meta.url))

/** Runs the bin from source; yields its printed URL and kills it when the scope closes. */
const runBin = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; kill: () => void }>((resolve, reject) => {
          const child = spawn(process.execPath, [tsx, bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
          let err = ""
          child.stderr.on("data", (d) => {
            err += String(d)
          })
          child.once("exit", (code) => reject(new Error(`bin exited ${code}: ${err}`)))
          child.stdout.once("data", (d) => resolve({ url: String(d).trim(), kill: () => child.kill("SIGTERM") }))
        })
    ),
    (running) => Effect.sync(() => running.kill())
  )

describe("bin", () => {
  it.effect("parses flags, prints the URL and serves; /__sim/config updates it", () =>
    Effect.gen(function* () {
      const { url } = yield* runBin(["--rpm", "600", "--seed", "3", "--keys", "sk-bin-key"])
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      const ok = yield* post(url, "/chat/completions", chatBody("hi"), "sk-bin-key")
      expect(ok.status).toBe(200)
      expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("600")
      expect((yield* get(url, "/models", "sk-other")).status).toBe(401)
      yield* Effect.promise(() =>
        fetch(`${url.replace(/\/v1$/, "")}/__sim/config`, {
          method: "POST",
          body: JSON.stringify({ faults: { rate503: 1 } })
        })
      )
      const faulted = yield* post(url, "/chat/completions", chatBody("hi"), "sk-bin-key")
      expect(faulted.status).toBe(503)
    })
  )

  it.effect("--rate-limit-headers selects the style; an unknown one is refused", () =>
    Effect.gen(function* () {
      const { url } = yield* runBin(["--rpm", "2", "--rate-limit-headers", "fixed-window"])
      const first = yield* post(url, "/chat/completions", chatBody("hi"))
      expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("1")
      expect(first.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+(\.\d+)?s|\d+ms|1m0s)$/)
      const refused = yield* Effect.promise(
        () =>
          new Promise<{ code: number | null; err: string }>((resolve) => {
            const child = spawn(process.execPath, [tsx, bin, "--rate-limit-headers", "bogus"], { stdio: "pipe" })
            let err = ""
            child.stderr.on("data", (d) => {
              err += String(d)
            })
            child.once("exit", (code) => resolve({ code, err }))
          })
      )
      expect(refused.code).toBe(2)
      expect(refused.err).toContain("--rate-limit-headers must be one of openai, scaled-remaining, none, fixed-window")
    })
  )

  it.effect("--no-sequence-numbers and --stream-error-code reach /v1/responses", () =>
    Effect.gen(function* () {
      const { url } = yield* runBin(["--no-sequence-numbers", "--stream-error-code", "rate_limit_exceeded"])
      const ok = yield* post(url, "/responses", { model: "gpt-4o-mini", input: "hi", stream: true })
      expect(ok.text).toContain("event: response.completed")
      expect(ok.text).not.toContain("sequence_number")
      yield* Effect.promise(() =>
        fetch(`${url.replace(/\/v1$/, "")}/__sim/config`, {
          method: "POST",
          body: JSON.stringify({ faults: { rateStreamError: 1 } })
        })
      )
      const failed = yield* post(url, "/responses", { model: "gpt-4o-mini", input: "hi", stream: true })
      expect(failed.text).toContain('"code":"rate_limit_exceeded"')
    })
  )
})
