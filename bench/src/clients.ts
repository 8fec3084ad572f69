/**
 * The clients under test. Each is loaded on demand, so a worker process holds only the code of the client it
 * measures (its baseline memory is its own). Sluice runs the same minimal worker pool in Effect (fibers taking
 * the next index in an `Effect.whileLoop`); the promise clients share one minimal worker pool (or p-limit, as the
 * goodput scenario asks for the SDK).
 */
import type { ClientName } from "./common.js"
import type { Runner } from "./pool.js"

export const makeRunner = async (name: ClientName, url: string, usePLimit: boolean): Promise<Runner> => {
  switch (name) {
    case "sluice":
      return (await import("./clientSluice.js")).makeSluice(url, true)
    case "sluice-nogates":
      return (await import("./clientSluice.js")).makeSluice(url, false)
    case "openai":
      return (await import("./clientOpenAi.js")).makeOpenAi(url, undefined, usePLimit)
    case "openai-r10":
      return (await import("./clientOpenAi.js")).makeOpenAi(url, 10, usePLimit)
    case "undici":
      return (await import("./clientUndici.js")).makeUndici(url)
  }
}
