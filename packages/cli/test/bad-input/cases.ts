/**
 * Shared by the bad-input suites: one simulator per file that must never see a request, temp files, and the
 * assertions every usage error must pass (exit 1, the flag and the value named, nothing sent, nothing written).
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, expect } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import type { Result } from "../support.js"

export const key = "sk-bad-input-0123456789abcdef"

/** A simulator that every case points at; each case checks it saw nothing. */
export const quietServer = () => {
  const state: { server: Simulator.Server | undefined; dir: string } = { server: undefined, dir: "" }
  beforeAll(async () => {
    state.server = await Simulator.startServer({ keys: [key] })
    state.dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-bad-input-"))
  })
  afterAll(async () => {
    await state.server?.close()
    await Fs.rm(state.dir, { recursive: true, force: true })
  })
  return {
    get url() {
      return state.server!.url
    },
    get requests() {
      return state.server!.stats().requests
    },
    path: (name: string) => Path.join(state.dir, name),
    env: (extra: Record<string, string> = {}) => ({ OPENAI_API_KEY: key, OPENAI_BASE_URL: state.server!.url, ...extra })
  }
}

/** Exit 1; stderr names every fragment (the flag, the value, what is allowed); the key is nowhere. */
export const usageError = (result: Result, ...fragments: ReadonlyArray<string>) => {
  expect(result.code, result.stderr).toBe(1)
  for (const fragment of fragments) expect(result.stderr).toContain(fragment)
  expect(result.stdout).not.toContain(key)
  expect(result.stderr).not.toContain(key)
  expect(result.stderr).not.toContain("\x1b[")
}

export const exists = async (path: string) =>
  Fs.stat(path).then(
    () => true,
    () => false
  )

export const chatLine = (i: number) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `question ${i}` }], max_tokens: 8 }
  })
