/**
 * The README's "taste" is a real program: run it as a user would (OPENAI_BASE_URL pointed at the simulator)
 * and check it printed the answer. Keeps the first screen of the README honest.
 */
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../..")

const run = (env: Record<string, string>) =>
  Effect.callback<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "--conditions", "@sluice/source", "examples/readme-taste.ts"],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }))
    )
    return Effect.sync(() => child.kill())
  })

it.live(
  "the README's taste runs against the simulator and logs the answer with its token count",
  () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const result = yield* run({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: "sk-readme-0123456789" })
      expect(result.stderr).not.toContain("sk-readme-0123456789")
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/tokens: \d+/)
      expect((yield* sim.stats).successes).toBe(1)
    }),
  90_000
)
