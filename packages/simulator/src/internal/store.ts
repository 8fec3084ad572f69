/** In-memory files and batches; batches run their JSONL lines through the simulator's own handlers. */
import type { Resolved } from "../Config.js"
import { type ApiError, apiError, missingParam } from "./errors.js"
import { newId } from "./text.js"

type Json = Record<string, unknown>

export interface StoredFile {
  readonly meta: {
    readonly id: string
    readonly object: "file"
    readonly bytes: number
    readonly created_at: number
    readonly filename: string
    readonly purpose: string
    readonly status: "processed"
    readonly status_details: null
    readonly expires_at: null
  }
  readonly content: Buffer
}

export type BatchStatus =
  | "validating"
  | "failed"
  | "in_progress"
  | "finalizing"
  | "completed"
  | "expired"
  | "cancelling"
  | "cancelled"

export interface Batch {
  id: string
  object: "batch"
  endpoint: string
  errors: {
    object: "list"
    data: Array<{ code: string; message: string; param: string | null; line: number | null }>
  } | null
  input_file_id: string
  completion_window: string
  status: BatchStatus
  output_file_id: string | null
  error_file_id: string | null
  created_at: number
  in_progress_at: number | null
  expires_at: number
  finalizing_at: number | null
  completed_at: number | null
  failed_at: number | null
  expired_at: number | null
  cancelling_at: number | null
  cancelled_at: number | null
  request_counts: { total: number; completed: number; failed: number }
  metadata: Json | null
}

/** Runs one batch line's request; returns the HTTP status and JSON body it would have had. */
export type Executor = (endpoint: string, body: unknown) => { readonly status: number; readonly body: Json }

const batchEndpoints = new Set(["/v1/chat/completions", "/v1/embeddings", "/v1/responses"])

/** The fields of a batch request, or the 400 OpenAI answers for the first one missing or invalid. */
const checkBatchRequest = (body: Json): ApiError | { inputFileId: string; endpoint: string; window: string } => {
  const inputFileId = body["input_file_id"]
  const endpoint = body["endpoint"]
  const window = body["completion_window"]
  if (typeof inputFileId !== "string") return missingParam("input_file_id")
  if (typeof endpoint !== "string") return missingParam("endpoint")
  if (typeof window !== "string") return missingParam("completion_window")
  if (!batchEndpoints.has(endpoint)) {
    return apiError(
      400,
      `Invalid 'endpoint': '${endpoint}'. Supported: /v1/chat/completions, /v1/embeddings, /v1/responses.`,
      "invalid_request_error",
      "endpoint",
      "invalid_value"
    )
  }
  if (window !== "24h") {
    return apiError(
      400,
      "Invalid 'completion_window': only '24h' is supported.",
      "invalid_request_error",
      "completion_window",
      "invalid_value"
    )
  }
  return { inputFileId, endpoint, window }
}

const newBatch = (now: number, inputFileId: string, endpoint: string, window: string, metadata: unknown): Batch => ({
  id: newId("batch", "_"),
  object: "batch",
  endpoint,
  errors: null,
  input_file_id: inputFileId,
  completion_window: window,
  status: "validating",
  output_file_id: null,
  error_file_id: null,
  created_at: now,
  in_progress_at: null,
  expires_at: now + 86_400,
  finalizing_at: null,
  completed_at: null,
  failed_at: null,
  expired_at: null,
  cancelling_at: null,
  cancelled_at: null,
  request_counts: { total: 0, completed: 0, failed: 0 },
  metadata: typeof metadata === "object" && metadata !== null ? (metadata as Json) : null
})

type LineError = NonNullable<Batch["errors"]>["data"][number]

/** One input line: a request, an error naming the line, or undefined for a blank line. */
const parseLine = (
  raw: string,
  line: number,
  endpoint: string,
  seen: Set<string>
): { customId: string; body: unknown } | LineError | undefined => {
  const text = raw.trim()
  if (text === "") return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { code: "invalid_json_line", message: "This line is not parseable as valid JSON.", param: null, line }
  }
  const r = parsed as Json
  if (typeof r !== "object" || r === null || typeof r["custom_id"] !== "string") {
    return { code: "missing_required_parameter", message: "Missing 'custom_id'.", param: "custom_id", line }
  }
  if (r["method"] !== "POST")
    return { code: "invalid_method", message: "Only POST is supported.", param: "method", line }
  if (r["url"] !== endpoint) {
    return {
      code: "mismatched_endpoint",
      message: `The url '${String(r["url"])}' does not match the batch endpoint '${endpoint}'.`,
      param: "url",
      line
    }
  }
  if (seen.has(r["custom_id"])) {
    return { code: "duplicate_custom_id", message: "The custom_id is duplicated.", param: "custom_id", line }
  }
  seen.add(r["custom_id"])
  return { customId: r["custom_id"], body: r["body"] }
}

export class Store {
  readonly files = new Map<string, StoredFile>()
  readonly batches = new Map<string, Batch>()
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    private readonly config: () => Resolved,
    private readonly execute: Executor
  ) {}

  private seconds(): number {
    return Math.floor(this.config().clock() / 1000)
  }

  addFile(filename: string, purpose: string, content: Buffer): StoredFile {
    const file: StoredFile = {
      meta: {
        id: newId("file"),
        object: "file",
        bytes: content.length,
        created_at: this.seconds(),
        filename,
        purpose,
        status: "processed",
        status_details: null,
        expires_at: null
      },
      content
    }
    this.files.set(file.meta.id, file)
    return file
  }

  createBatch(body: Json): ApiError | Batch {
    const checked = checkBatchRequest(body)
    if ("status" in checked) return checked
    const { inputFileId, endpoint, window } = checked
    const file = this.files.get(inputFileId)
    if (file === undefined) {
      return apiError(404, `No such File object: ${inputFileId}`, "invalid_request_error", "input_file_id", null)
    }
    const batch = newBatch(this.seconds(), inputFileId, endpoint, window, body["metadata"])
    this.batches.set(batch.id, batch)
    this.after(this.config().batch.validatingMs, () => this.validate(batch, file.content))
    return batch
  }

  cancelBatch(id: string): ApiError | Batch {
    const batch = this.batches.get(id)
    if (batch === undefined)
      return apiError(404, `No batch found with id '${id}'.`, "invalid_request_error", null, null)
    if (batch.status !== "validating" && batch.status !== "in_progress" && batch.status !== "finalizing") {
      return apiError(409, `Cannot cancel a batch with status '${batch.status}'.`, "invalid_request_error", null, null)
    }
    batch.status = "cancelling"
    batch.cancelling_at = this.seconds()
    this.after(this.config().batch.finalizingMs, () => {
      batch.status = "cancelled"
      batch.cancelled_at = this.seconds()
    })
    return batch
  }

  private after(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      f()
    }, ms)
    t.unref()
    this.timers.add(t)
  }

  private validate(batch: Batch, content: Buffer): void {
    if (batch.status !== "validating") return
    const requests: Array<{ customId: string; body: unknown }> = []
    const errors: Array<LineError> = []
    const seen = new Set<string>()
    content
      .toString("utf8")
      .split("\n")
      .forEach((raw, index) => {
        const parsed = parseLine(raw, index + 1, batch.endpoint, seen)
        if (parsed === undefined) return
        if ("code" in parsed) errors.push(parsed)
        else requests.push(parsed)
      })
    if (requests.length === 0 && errors.length === 0) {
      errors.push({ code: "empty_file", message: "The input file is empty.", param: null, line: null })
    }
    if (errors.length > 0) {
      batch.status = "failed"
      batch.failed_at = this.seconds()
      batch.errors = { object: "list", data: errors }
      return
    }
    batch.status = "in_progress"
    batch.in_progress_at = this.seconds()
    batch.request_counts = { total: requests.length, completed: 0, failed: 0 }
    this.after(this.config().batch.inProgressMs, () => this.run(batch, requests))
  }

  private run(batch: Batch, requests: ReadonlyArray<{ customId: string; body: unknown }>): void {
    if (batch.status !== "in_progress") return
    const output: Array<string> = []
    const failures: Array<string> = []
    for (const { customId, body } of requests) {
      const requestId = newId("req", "_")
      const result = this.execute(batch.endpoint, body)
      const line = JSON.stringify({
        id: newId("batch_req", "_"),
        custom_id: customId,
        response: { status_code: result.status, request_id: requestId, body: result.body },
        error: null
      })
      if (result.status >= 200 && result.status < 300) {
        output.push(line)
        batch.request_counts.completed++
      } else {
        failures.push(line)
        batch.request_counts.failed++
      }
    }
    batch.status = "finalizing"
    batch.finalizing_at = this.seconds()
    this.after(this.config().batch.finalizingMs, () => {
      if (batch.status !== "finalizing") return
      if (output.length > 0) {
        batch.output_file_id = this.addFile(
          `${batch.id}_output.jsonl`,
          "batch_output",
          Buffer.from(output.join("\n") + "\n")
        ).meta.id
      }
      if (failures.length > 0) {
        batch.error_file_id = this.addFile(
          `${batch.id}_error.jsonl`,
          "batch_output",
          Buffer.from(failures.join("\n") + "\n")
        ).meta.id
      }
      batch.status = "completed"
      batch.completed_at = this.seconds()
    })
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}
