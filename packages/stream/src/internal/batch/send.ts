/**
 * How a validated line is sent: through its endpoint's call, with a temporarily open circuit waited out on a
 * `Schedule` by the `Clock`.
 *
 * @internal
 */
import type { ChatCompletions, Embeddings, Errors, OpenAi, Responses } from "@sluice/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Api from "../../Batch.js"

/** The request each endpoint's call takes: a line's body has passed that endpoint's decoder in `Validate`. */
interface Bodies {
  readonly "/v1/chat/completions": ChatCompletions.Request
  readonly "/v1/embeddings": Embeddings.Request
  readonly "/v1/responses": Responses.Request
}

/**
 * How a line of each endpoint is sent: one entry per endpoint of `Validate.endpoints` (a new endpoint adds its
 * validation there and its call here; the rest of the per-line path does not look at the endpoint).
 */
const senders: {
  readonly [K in Api.Endpoint]: (
    client: OpenAi.Service,
    body: Bodies[K]
  ) => Effect.Effect<OpenAi.Response<unknown>, Errors.OpenAiError>
} = {
  "/v1/chat/completions": (client, body) => client.chat.completions.create(body),
  "/v1/embeddings": (client, body) => client.embeddings.create(body),
  "/v1/responses": (client, body) => client.responses.create(body)
}

/** A validated line through its endpoint's call (the body is sent as given, unknown fields included). */
const sendLine = <K extends Api.Endpoint>(client: OpenAi.Service, url: K, body: Record<string, unknown>) =>
  senders[url](client, body as Bodies[K])

const closesLater = (error: Errors.OpenAiError): error is Errors.CircuitOpen =>
  error._tag === "CircuitOpen" && error.closesAtMs !== undefined

/** Waits until the open circuit of the last failure says it closes (at least 50 ms), by the `Clock`. */
const untilCircuitCloses: Schedule.Schedule<Errors.OpenAiError, Errors.OpenAiError> = Schedule.fromStep(
  Effect.succeed((now: number, error: Errors.OpenAiError) =>
    Effect.succeed([
      error,
      Duration.millis(Math.max(50, error._tag === "CircuitOpen" ? (error.closesAtMs ?? 0) - now : 0))
    ] as const)
  )
)

/** One request through the client; a temporarily open circuit is waited out (not counted as a failure). @internal */
export const send = (
  client: OpenAi.Service,
  request: Api.Request,
  stopped: Effect.Effect<boolean>
): Effect.Effect<OpenAi.Response<unknown>, Errors.OpenAiError> =>
  Effect.retry(sendLine(client, request.url, request.body), {
    while: (error) => (closesLater(error) ? Effect.map(stopped, (isStopped) => !isStopped) : false),
    schedule: untilCircuitCloses
  })
