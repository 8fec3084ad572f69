import { describe, expect, it } from "@effect/vitest"
import { Errors } from "@sluice/core"

const json = (error: Record<string, unknown>) => JSON.stringify({ error })

describe("Errors.fromResponse", () => {
  const table: ReadonlyArray<{
    name: string
    status: number
    body: string
    headers?: Record<string, string>
    tag: string
    retryable: boolean
    message?: string | RegExp
    retryAfterMs?: number
  }> = [
    {
      name: "429 insufficient_quota (code)",
      status: 429,
      body: json({
        message: "You exceeded your current quota",
        type: "insufficient_quota",
        code: "insufficient_quota"
      }),
      tag: "QuotaExceeded",
      retryable: false
    },
    {
      name: "429 insufficient_quota stays terminal even with x-should-retry: true",
      status: 429,
      body: json({ message: "quota", type: "insufficient_quota", code: null }),
      headers: { "x-should-retry": "true" },
      tag: "QuotaExceeded",
      retryable: false
    },
    {
      name: "429 rate_limit_exceeded with retry-after-ms",
      status: 429,
      body: json({ message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" }),
      headers: { "retry-after-ms": "1500", "retry-after": "2" },
      tag: "RateLimited",
      retryable: true,
      retryAfterMs: 1500
    },
    {
      name: "429 with retry-after seconds only",
      status: 429,
      body: json({ message: "slow down", code: "rate_limit_exceeded" }),
      headers: { "retry-after": "3" },
      tag: "RateLimited",
      retryable: true,
      retryAfterMs: 3000
    },
    {
      name: "429 with x-should-retry: false",
      status: 429,
      body: json({ message: "no", code: "rate_limit_exceeded" }),
      headers: { "x-should-retry": "false" },
      tag: "RateLimited",
      retryable: false
    },
    {
      name: "400",
      status: 400,
      body: json({ message: "bad", param: "messages" }),
      tag: "BadRequest",
      retryable: false
    },
    {
      name: "401",
      status: 401,
      body: json({ message: "Incorrect API key" }),
      tag: "AuthenticationFailed",
      retryable: false
    },
    { name: "403", status: 403, body: json({ message: "region" }), tag: "PermissionDenied", retryable: false },
    {
      name: "404 retired model",
      status: 404,
      body: json({ message: "The model does not exist", code: "model_not_found" }),
      tag: "NotFound",
      retryable: false
    },
    { name: "409", status: 409, body: json({ message: "conflict" }), tag: "Conflict", retryable: true },
    { name: "422", status: 422, body: json({ message: "nope" }), tag: "Unprocessable", retryable: false },
    { name: "408", status: 408, body: "", tag: "ServerError", retryable: true, message: "408 Request Timeout" },
    {
      name: "500",
      status: 500,
      body: json({ message: "The server had an error" }),
      tag: "ServerError",
      retryable: true
    },
    {
      name: "503 with x-should-retry: false",
      status: 503,
      body: json({ message: "down" }),
      headers: { "x-should-retry": "false" },
      tag: "ServerError",
      retryable: false
    },
    {
      name: "400 with x-should-retry: true is still not retried (a deterministic refusal)",
      status: 400,
      body: json({ message: "flaky" }),
      headers: { "x-should-retry": "true" },
      tag: "BadRequest",
      retryable: false
    },
    {
      name: "413 with x-should-retry: true is not retried",
      status: 413,
      body: "",
      headers: { "x-should-retry": "true" },
      tag: "ServerError",
      retryable: false
    },
    {
      name: "409 with x-should-retry: false",
      status: 409,
      body: json({ message: "busy" }),
      headers: { "x-should-retry": "false" },
      tag: "Conflict",
      retryable: false
    },
    {
      name: "307 to another host",
      status: 307,
      body: "",
      headers: { location: "https://evil.example:8443/steal?x=1" },
      tag: "Redirected",
      retryable: false,
      message: /307 \(redirect\) to evil\.example:8443; not followed, and the API key was not sent there/
    },
    {
      name: "301 without Location",
      status: 301,
      body: "",
      tag: "Redirected",
      retryable: false,
      message: /301 \(redirect\) without a Location header/
    },
    {
      name: "502 HTML page",
      status: 502,
      body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
      tag: "ServerError",
      retryable: true,
      message: "502 Bad Gateway: 502 Bad Gateway"
    },
    {
      name: "500 plain text",
      status: 500,
      body: "upstream connect error or disconnect/reset before headers",
      tag: "ServerError",
      retryable: true,
      message: "500 Internal Server Error: upstream connect error or disconnect/reset before headers"
    },
    {
      name: "vLLM-style top-level error",
      status: 400,
      body: JSON.stringify({ object: "error", message: "max_tokens too large", type: "BadRequestError", code: 400 }),
      tag: "BadRequest",
      retryable: false,
      message: "max_tokens too large"
    },
    { name: "418 unknown status", status: 418, body: "{}", tag: "ServerError", retryable: false, message: "418" }
  ]

  for (const row of table) {
    it(row.name, () => {
      const error = Errors.fromResponse({
        status: row.status,
        body: row.body,
        headers: row.headers ?? {},
        requestId: "req_1",
        nowMs: 0
      })
      expect(error._tag).toBe(row.tag)
      expect(error.retryable).toBe(row.retryable)
      expect(Errors.isRetryable(error)).toBe(row.retryable)
      expect((error as { status?: number }).status).toBe(row.status)
      expect((error as { requestId?: string }).requestId).toBe("req_1")
      if (row.message !== undefined) {
        if (typeof row.message === "string") expect(error.message).toBe(row.message)
        else expect(error.message).toMatch(row.message)
      }
      if (row.retryAfterMs !== undefined) expect(Errors.retryAfterMsOf(error)).toBe(row.retryAfterMs)
    })
  }

  it("keeps code, type, param and the rate-limit snapshot", () => {
    const error = Errors.fromResponse({
      status: 429,
      body: json({ message: "m", type: "tokens", code: "rate_limit_exceeded", param: "p" }),
      headers: { "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s" },
      nowMs: 0
    })
    expect(error._tag).toBe("RateLimited")
    if (error._tag !== "RateLimited") return
    expect(error.code).toBe("rate_limit_exceeded")
    expect(error.type).toBe("tokens")
    expect(error.param).toBe("p")
    expect(error.snapshot?.remainingTokens).toBe(0)
    expect(error.snapshot?.resetTokensMs).toBe(360_000)
  })

  it("strips tags from a long HTML body and caps it", () => {
    const error = Errors.fromResponse({
      status: 503,
      body: `<body><p>${"x".repeat(500)}</p></body>`,
      headers: {},
      nowMs: 0
    })
    expect(error.message.startsWith("503 Service Unavailable: xxx")).toBe(true)
    expect(error.message.length).toBeLessThan(240)
    expect(error.message).not.toContain("<")
  })

  it("terminal errors", () => {
    expect(Errors.isTerminal(new Errors.QuotaExceeded({ message: "q" }))).toBe(true)
    expect(Errors.isTerminal(new Errors.RateLimited({ message: "r" }))).toBe(false)
  })
})
