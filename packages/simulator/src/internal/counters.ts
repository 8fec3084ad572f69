/** The mutable counters behind `Stats`. */
import type { Stats } from "../Stats.js"

export class Counters {
  requests = 0
  byPath: Record<string, number> = {}
  byStatus: Record<string, number> = {}
  faults: Record<string, number> = {}
  successes = 0
  duplicateSuccesses = 0
  rateLimited = 0
  quotaExceeded = 0
  unauthorized = 0
  embeddedInputs = 0
  duplicateEmbeddedInputs = 0
  promptTokens = 0
  completionTokens = 0
  costUsd = 0
  maxConcurrent = 0
  inFlight = 0
  streamsStarted = 0
  streamsCompleted = 0
  streamsAborted = 0
  clientAborts = 0
  lastClientAbortAtMs = 0

  snapshot(): Stats {
    return {
      requests: this.requests,
      byPath: { ...this.byPath },
      byStatus: { ...this.byStatus },
      faults: { ...this.faults },
      successes: this.successes,
      duplicateSuccesses: this.duplicateSuccesses,
      rateLimited: this.rateLimited,
      quotaExceeded: this.quotaExceeded,
      unauthorized: this.unauthorized,
      embeddedInputs: this.embeddedInputs,
      duplicateEmbeddedInputs: this.duplicateEmbeddedInputs,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      totalTokens: this.promptTokens + this.completionTokens,
      costUsd: this.costUsd,
      maxConcurrent: this.maxConcurrent,
      inFlight: this.inFlight,
      streamsStarted: this.streamsStarted,
      streamsCompleted: this.streamsCompleted,
      streamsAborted: this.streamsAborted,
      clientAborts: this.clientAborts,
      lastClientAbortAtMs: this.lastClientAbortAtMs
    }
  }
}
