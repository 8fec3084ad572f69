import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import * as Browser from "@sluice/test-support/Browser"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { RateLimited } from "@sluice/core/Errors"
import * as Gates from "@sluice/core/Gates"
import * as Pricing from "@sluice/core/Pricing"
import { RateLimitSnapshot } from "@sluice/core/RateLimitHeaders"
import * as RunReport from "../src/RunReport.js"
import * as Telemetry from "@sluice/core/Telemetry"
import { chatAdmission } from "./support.js"

const buildDir = fileURLToPath(new URL("../build/", import.meta.url))
const docsImage = fileURLToPath(new URL("../../../docs/img/report.png", import.meta.url))

/** A deterministic five-minute job over three models, with a 429 storm in the third minute. */
const syntheticRun = (): Array<Telemetry.TelemetryEvent> => {
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const start = Date.parse("2025-10-01T09:00:00Z")
  const models = [
    { model: "gpt-4o-mini", calls: 600, price: 0.0004 },
    { model: "gpt-4o", calls: 150, price: 0.004 },
    { model: "my-finetune", calls: 50, price: undefined }
  ]
  const events: Array<Telemetry.TelemetryEvent> = []
  let callId = 0
  for (const { model, calls, price } of models) {
    for (let i = 0; i < calls; i++) {
      callId++
      const startedAt = start + Math.floor((i / calls) * 300_000 + random() * 500)
      const storm = startedAt - start > 120_000 && startedAt - start < 160_000
      const base = { callId, model, endpoint: "/chat/completions", method: "POST", stream: false, keyId: "key-1" }
      let at = startedAt
      let attempts = 0
      if (storm && random() < 0.6) {
        attempts++
        at += 40
        events.push({
          _tag: "Attempt",
          ...base,
          at,
          attempt: attempts,
          outcome: "error",
          status: 429,
          errorTag: "RateLimited",
          latencyMs: 40,
          gateWaitMs: 0
        })
        at += 1000
      }
      const failed = model === "gpt-4o" && i % 50 === 7
      const latency = Math.round((storm ? 2500 : 600) + random() * (model === "gpt-4o" ? 2400 : 900))
      attempts++
      at += latency
      events.push(
        failed
          ? {
              _tag: "Attempt",
              ...base,
              at,
              attempt: attempts,
              outcome: "error",
              status: 500,
              errorTag: "ServerError",
              latencyMs: latency,
              gateWaitMs: 0
            }
          : {
              _tag: "Attempt",
              ...base,
              at,
              attempt: attempts,
              outcome: "ok",
              status: 200,
              latencyMs: latency,
              gateWaitMs: 0
            }
      )
      events.push({
        _tag: "Call",
        ...base,
        batch: false,
        at,
        startedAt,
        outcome: failed ? "error" : "ok",
        sent: true,
        attempts,
        latencyMs: at - startedAt,
        maxOutputTokens: 256,
        estimatedPromptTokens: 200,
        ...(failed
          ? { errorTag: "ServerError" }
          : {
              promptTokens: 200,
              completionTokens: 100,
              totalTokens: 300,
              finishReason: i % 20 === 0 ? "length" : "stop",
              ...(price === undefined ? {} : { costUsd: price })
            })
      })
    }
  }
  return events.sort((a, b) => a.at - b.at)
}

const rowOf = (html: string, model: string): Array<string> => {
  const row = new RegExp(`<tr><td>${model}</td>(.*?)</tr>`).exec(html)?.[1] ?? ""
  return [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((match) => match[1]!.replace(/<[^>]+>/g, ""))
}

describe("RunReport", () => {
  it("renders the per-model table, totals and errors from recorded events", () => {
    const events = syntheticRun()
    const html = RunReport.render(events, { title: "Nightly classification <batch>" })
    // Calls, errors, 429s, retries, prompt tokens, completion tokens, cost, p50, p99, finish reasons
    const mini = rowOf(html, "gpt-4o-mini")
    expect(mini.slice(0, 1)).toEqual(["600"])
    expect(mini[1]).toBe("0")
    expect(Number(mini[2])).toBeGreaterThan(30) // the storm's 429s
    expect(mini[2]).toBe(mini[3]) // each 429 was retried once
    expect(mini.slice(4, 7)).toEqual(["120,000", "60,000", "$0.2400"])
    expect(mini[9]).toBe("length 30, stop 570")
    const big = rowOf(html, "gpt-4o")
    expect(big.slice(0, 2)).toEqual(["150", "3"])
    expect(big[6]).toBe("$0.5880")
    expect(rowOf(html, "my-finetune")[6]).toBe("$0 (+50 unpriced)")
    expect(html).toContain("<title>Nightly classification &lt;batch&gt;</title>")
    expect(html).toContain("<tr><td>ServerError</td><td>3</td></tr>")
    expect(html).toContain("2025-10-01 09:00:00 UTC")
  })

  it("is self-contained: no network references besides the SVG namespace, no scripts", () => {
    const html = RunReport.render(syntheticRun())
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((match) => match[0])
    expect(new Set(urls)).toEqual(new Set(["http://www.w3.org/2000/svg"]))
    expect(html).not.toMatch(/<script|<link|@import|url\(/i)
    expect(html.match(/<svg /g)).toHaveLength(4)
  })

  it("keeps aggregates bounded: buckets widen instead of growing", () => {
    const acc = RunReport.accumulator({ maxBuckets: 100 })
    const start = 1_700_000_000_000
    for (let i = 0; i < 100_000; i++) {
      acc.add({
        _tag: "Call",
        callId: i,
        at: start + i * 100, // 10 000 s of traffic
        startedAt: start + i * 100 - 50,
        model: "gpt-4o-mini",
        endpoint: "/chat/completions",
        method: "POST",
        stream: false,
        batch: false,
        keyId: "k",
        outcome: "ok",
        sent: true,
        attempts: 1,
        latencyMs: 50 + (i % 100) * 10,
        maxOutputTokens: 0,
        estimatedPromptTokens: 0
      })
    }
    const summary = acc.summary()
    expect(summary.buckets.length).toBeLessThanOrEqual(100)
    expect(summary.totals.calls).toBe(100_000)
    expect(summary.buckets.reduce((sum, bucket) => sum + bucket.calls, 0)).toBe(100_000)
    // Latencies are 50..1040 ms uniformly: p50 ≈ 540, p99 ≈ 1030, within the sketch's 2 %.
    expect(summary.totals.latency.p50!).toBeGreaterThan(540 * 0.98)
    expect(summary.totals.latency.p50!).toBeLessThan(550 * 1.02)
    expect(summary.totals.latency.p99!).toBeGreaterThan(1030 * 0.98)
    expect(summary.totals.latency.p99!).toBeLessThan(1040 * 1.02)
  })

  it.effect("recorder: subscribes to Telemetry and aggregates the client's calls", () =>
    Effect.gen(function* () {
      const recorder = yield* RunReport.recorder()
      const gates = yield* Gates.Gates
      for (let i = 0; i < 10; i++) {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const ticket = yield* gates.admit(chatAdmission("k"))
            const snapshot = RateLimitSnapshot.make({})
            if (i % 5 === 0) {
              yield* Effect.exit(
                Effect.scoped(ticket.attempt("k", Effect.fail(new RateLimited({ message: "slow", status: 429 }))))
              )
            }
            yield* Effect.scoped(
              ticket.attempt("k", Effect.as(TestClock.adjust(200 + i * 100), { status: 200, snapshot }))
            )
            yield* ticket.settle({
              usage: { promptTokens: 1000, completionTokens: 1000, cachedPromptTokens: 0 },
              sent: true,
              error: undefined
            })
          })
        )
      }
      const summary = yield* recorder.summary
      expect(summary.totals).toMatchObject({
        calls: 10,
        ok: 10,
        attempts: 12,
        retries: 2,
        rateLimited: 2,
        promptTokens: 10_000,
        completionTokens: 10_000
      })
      expect(summary.totals.costUsd).toBeCloseTo((10 * (1000 * 0.15 + 1000 * 0.6)) / 1e6, 10)
      const html = yield* recorder.render({ title: "recorded" })
      expect(rowOf(html, "gpt-4o-mini").slice(0, 4)).toEqual(["10", "0", "2", "2"])
    }).pipe(Effect.provide(Telemetry.wrap(Layer.merge(Gates.none, Pricing.layer()), { logs: false })))
  )

  it("renders in headless Chromium: four charts with real size, a readable table", { timeout: 60_000 }, async () => {
    const html = RunReport.render(syntheticRun(), {
      title: "Sluice run report — nightly classification",
      description: "800 chat completions over three models against the simulator, with a 429 storm in minute 3."
    })
    Fs.mkdirSync(buildDir, { recursive: true })
    Fs.writeFileSync(`${buildDir}report.html`, html)
    const browser = await Browser.launch()
    try {
      const page = await browser.newPage({ viewport: { width: 1240, height: 900 } })
      const requests: Array<string> = []
      page.on("request", (request) => requests.push(request.url()))
      await page.setContent(html, { waitUntil: "load" })
      const boxes = await page.$$eval("svg.chart", (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect()
          return { width: box.width, height: box.height, marks: svg.querySelectorAll("rect, polyline, polygon").length }
        })
      )
      expect(boxes).toHaveLength(4)
      for (const box of boxes) {
        expect(box.width).toBeGreaterThan(300)
        expect(box.height).toBeGreaterThan(100)
        expect(box.marks).toBeGreaterThan(2)
      }
      const firstRow = await page.$$eval("table.models tbody tr:first-child td", (cells) =>
        cells.map((cell) => cell.textContent)
      )
      expect(firstRow.slice(0, 2)).toEqual(["gpt-4o", "150"])
      expect(requests.filter((url) => !url.startsWith("about:") && !url.startsWith("data:"))).toEqual([])
      const png = await page.screenshot({ path: `${buildDir}report.png`, fullPage: true })
      expect(png.length).toBeGreaterThan(50_000)
      if (process.env["SLUICE_UPDATE_DOCS"] === "1") {
        await page.screenshot({ path: docsImage, clip: { x: 0, y: 0, width: 1240, height: 900 } })
      }
    } finally {
      await browser.close()
    }
  })
})
