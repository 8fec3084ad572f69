/** The server's mutable state: configuration, PRNGs, counters, buckets, files and batches. */
import { createHash } from "node:crypto"
import * as Config from "../Config.js"
import * as Faults from "../Faults.js"
import type * as RateLimits from "../RateLimits.js"
import { Counters } from "./counters.js"
import { fnv1a } from "./text.js"
import type { Run } from "./responses/run.js"
import type { Store } from "./store.js"

export class State {
  raw: Config.Config
  cfg: Config.Resolved
  faultRng: () => number
  streamRng: () => number
  counters = new Counters()
  requestNumber = 0
  pathNumbers = new Map<string, number>()
  buckets = new Map<string, RateLimits.KeyBuckets>()
  /** Per key, for the `"fixed-window"` header style. */
  windows = new Map<string, RateLimits.KeyWindows>()
  keyRequests = new Map<string, number>()
  succeeded = new Set<string>()
  /** 53-bit hashes of every (model, dimensions, input) embedded since the last reset. */
  embedded = new Set<number>()
  /** Stored responses (and background runs) by id; kept across `reset`, like files and batches. */
  readonly responses = new Map<string, Run>()
  /** Set once by the server (the store's executor needs the routes, which need the state). */
  store!: Store

  constructor(input: Config.Config) {
    this.raw = input
    this.cfg = Config.resolve(input)
    this.faultRng = Faults.mulberry32(this.cfg.seed)
    this.streamRng = Faults.mulberry32((this.cfg.seed ^ 0x9e3779b9) >>> 0)
  }

  limits(): RateLimits.Limits {
    return { rpm: this.cfg.rpm, tpm: this.cfg.tpm }
  }

  limited(): boolean {
    return this.cfg.rpm !== undefined || this.cfg.tpm !== undefined
  }

  /** Bills a success: its tokens and its simulated price. */
  account(model: string, prompt: number, completion: number): void {
    this.counters.promptTokens += prompt
    this.counters.completionTokens += completion
    this.counters.costUsd += Config.priceOf(model, prompt, completion)
  }

  /** Counts a success, and a duplicate when the same request body already succeeded. */
  succeed(body: Buffer | undefined): void {
    this.counters.successes++
    if (body !== undefined && body.length > 0) {
      const digest = createHash("sha1").update(body).digest("base64")
      if (this.succeeded.has(digest)) this.counters.duplicateSuccesses++
      else this.succeeded.add(digest)
    }
  }

  /** Counts the inputs of a successful embeddings answer, and those embedded before. */
  countEmbedded(model: string, dimensions: number, inputs: ReadonlyArray<string | ReadonlyArray<number>>): void {
    const c = this.counters
    const head = `${model}\u0000${dimensions}\u0000`
    for (const input of inputs) {
      const key = head + (typeof input === "string" ? input : `\u0001${input.join(",")}`)
      const h = fnv1a(key) * 2_097_152 + (fnv1a(key, 0x9747b28c) >>> 11)
      c.embeddedInputs++
      if (this.embedded.has(h)) c.duplicateEmbeddedInputs++
      else this.embedded.add(h)
    }
  }

  /** Stores a response; past `responses.maxStored`, the oldest stored one is forgotten. */
  storeResponse(id: string, run: Run): void {
    this.responses.set(id, run)
    const max = this.cfg.responses.maxStored
    while (this.responses.size > max) this.responses.delete(this.responses.keys().next().value!)
  }

  countStatus(code: number): void {
    const k = String(code)
    this.counters.byStatus[k] = (this.counters.byStatus[k] ?? 0) + 1
  }

  countFault(kind: Faults.FaultKind): void {
    this.counters.faults[kind] = (this.counters.faults[kind] ?? 0) + 1
  }

  private reseed(): void {
    this.faultRng = Faults.mulberry32(this.cfg.seed)
    this.streamRng = Faults.mulberry32((this.cfg.seed ^ 0x9e3779b9) >>> 0)
  }

  reset(): void {
    this.counters = new Counters()
    this.requestNumber = 0
    this.pathNumbers = new Map()
    this.buckets = new Map()
    this.windows = new Map()
    this.keyRequests = new Map()
    this.succeeded = new Set()
    this.embedded = new Set()
    this.reseed()
  }

  update(patch: Config.Config): void {
    const next = Config.merge(this.raw, patch)
    const resolved = Config.resolve(next)
    this.raw = next
    this.cfg = resolved
    if (patch.seed !== undefined) this.reseed()
  }
}
