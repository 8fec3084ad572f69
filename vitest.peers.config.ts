import { defineConfig } from "vitest/config"

// The peer suites (`npm run test:llama`): Sluice against a real llama.cpp llama-server that the suite's global setup
// builds once (cached) and starts on a free loopback port. Separate from `npm test`, whose projects need nothing built.
export default defineConfig({
  resolve: { conditions: ["@sluice/source"] },
  ssr: { resolve: { conditions: ["@sluice/source"] } },
  test: {
    name: "llama",
    root: "peers",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/llama.setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false
  }
})
