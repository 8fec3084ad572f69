/**
 * A response being generated: its events appear over time (latency applies to the token deltas), followers stream
 * them (live or resumed `starting_after` a sequence number), and its state is what `GET /v1/responses/{id}` shows.
 */
import type * as Faults from "../../Faults.js"
import type { Json } from "../errors.js"
import { sleep } from "../http.js"
import type { State } from "../state.js"
import { responseJson, type Status } from "./body.js"
import { type Event, errorEvent, FAILED_ERROR, failedEvent } from "./events.js"
import type { Plan } from "./plan.js"

export class Run {
  /** The events emitted so far; an event's index is its `sequence_number`. */
  events: Array<Event> = []
  /** Output items done so far. */
  readonly output: Array<Json> = []
  status: Status
  snapshot: Json
  done = false
  private readonly waiters = new Set<() => void>()

  constructor(
    readonly plan: Plan,
    public all: ReadonlyArray<Event>
  ) {
    this.status = plan.request.background ? "queued" : "in_progress"
    this.snapshot = responseJson(plan, this.status, { output: [] })
  }

  /** Resolves when something changes (a new event, the end). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve))
  }

  private notify(): void {
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const w of waiting) w()
  }

  private emit(e: Event): void {
    this.events.push(e)
    if (e.type === "response.output_item.done") this.output.push(e.data["item"] as Json)
    const response = e.data["response"]
    if (response !== undefined) {
      this.snapshot = response as Json
      this.status = this.snapshot["status"] as Status
    }
    this.notify()
  }

  private finish(): void {
    this.done = true
    this.notify()
  }

  /** Forgets the events of a finished run (what is retrievable is its Response object). */
  compact(): void {
    this.events = []
    this.all = []
  }

  /** Marks the run finished at once (a JSON response: nothing streams, every event is implied). */
  settle(completedAt: number): void {
    this.status = this.plan.outcome
    this.snapshot = responseJson(this.plan, this.status, { completedAt })
    this.done = true
  }

  /** Stops the run: `cancelled` with the items done so far. */
  cancel(): void {
    if (this.done) return
    this.status = "cancelled"
    this.snapshot = responseJson(this.plan, "cancelled", { output: this.output })
    this.finish()
  }

  /** Ends the run as failed (the `streamError` fault's `error` event, or `response.failed`). */
  private fail(st: State, fault: Faults.FaultKind): void {
    if (fault === "streamError") {
      this.emit(errorEvent(st.cfg.faults.streamErrorCode))
      this.status = "failed"
      this.snapshot = responseJson(this.plan, "failed", { output: this.output, error: FAILED_ERROR })
    } else this.emit(failedEvent(this.plan, this.output))
    this.finish()
  }

  /** Runs to the end: queued (background), then each event after its latency. */
  async start(st: State, fault: Faults.FaultKind | undefined): Promise<void> {
    const failAt =
      fault === "streamError" || fault === "responseFailed"
        ? 2 + Math.floor(st.streamRng() * Math.max(1, this.all.length - 3))
        : -1
    if (failAt >= 0) st.countFault(fault!)
    const { firstTokenMs, perChunkMs } = st.cfg.latency
    const slow = fault === "slowFirstToken" ? st.cfg.faults.slowFirstTokenMs : 0
    if (slow > 0) st.countFault("slowFirstToken")
    if (this.plan.request.background) await sleep(st.cfg.responses.backgroundQueueMs)
    let deltas = 0
    for (let k = 0; k < this.all.length; k++) {
      const e = this.all[k]!
      if (e.delta) await sleep(deltas++ === 0 ? firstTokenMs + slow : perChunkMs)
      if (this.done) return
      if (k === failAt) return this.fail(st, fault!)
      this.emit(e)
    }
    // a background response is billed when it finishes; a foreground stream once its client has it all
    if (this.plan.request.background) st.account(this.plan.request.model, this.plan.usage.input, this.plan.usage.output)
    this.finish()
  }
}
