import { defineConfig } from "vitest/config"

// One root config; each package is a vitest project (test.projects replaces vitest.workspace.ts).
// The "@sluice/source" condition makes workspace imports resolve to TypeScript sources, so tests
// never run against a stale dist/.
const project = (name: string, root: string) => ({
  extends: true as const,
  test: { name, root, include: ["test/**/*.test.ts"] }
})

export default defineConfig({
  resolve: { conditions: ["@sluice/source"] },
  ssr: { resolve: { conditions: ["@sluice/source"] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      project("simulator", "packages/simulator"),
      project("core", "packages/core"),
      project("stream", "packages/stream"),
      project("redis", "packages/redis"),
      project("report", "packages/report"),
      project("cli", "packages/cli"),
      project("examples", "examples")
    ]
  }
})
