/**
 * Global setup of the llama.cpp peer suite: builds llama-server from node-llama-cpp's bundled source on the first run
 * (cached per llama.cpp commit; minutes, once), writes the tiny model, starts one server on a free 127.0.0.1 port for
 * every test file, and stops it at the end.
 */
// A relative import: vitest resolves global setup files without the "@sluice/source" condition.
import * as Llama from "../../test-support/src/Llama.js"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    llamaBaseUrl: string
  }
}

export default async function setup(project: TestProject) {
  const server = await Llama.start({ slots: 2, log: (line) => console.log(`[llama] ${line}`) })
  project.provide("llamaBaseUrl", server.baseUrl)
  return async () => {
    await server.stop()
  }
}
