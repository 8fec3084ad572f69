import { execFileSync } from "node:child_process"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Fiber, Schema } from "effect"
import * as cl100k from "gpt-tokenizer/encoding/cl100k_base"
import * as o200k from "gpt-tokenizer/encoding/o200k_base"
import { CL100K_TOKEN_SPLIT_REGEX, O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants"
import * as LongText from "../src/internal/longText.js"
import * as Tokens from "../src/Tokens.js"

const chat = (model: string, body: Record<string, unknown>) => ({
  path: "/chat/completions",
  model,
  body: { model, ...body }
})

/** fast-check's `constantFrom`: one of the values. */
const constantFrom = <const A extends string>(...values: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  Arbitrary.schema(Schema.Literals(values))

/** fast-check's `oneof`: a value of one of the arbitraries, each chosen equally often. */
const oneOf = <A>(...arbitraries: ReadonlyArray<Arbitrary.Arbitrary<A>>): Arbitrary.Arbitrary<A> =>
  Arbitrary.flatMap(
    Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: arbitraries.length - 1 }))),
    (index) => arbitraries[index]!
  )

/** fast-check's `string({ maxLength })` (Schema's strings also have lone surrogates and non-ASCII characters). */
const string = (maxLength: number): Arbitrary.Arbitrary<string> =>
  Arbitrary.schema(Schema.String.check(Schema.isMaxLength(maxLength)))

describe("Tokens", () => {
  it("picks the encoding by model family", () => {
    expect(Tokens.encodingFor("gpt-4o-2024-08-06")).toBe("o200k_base")
    expect(Tokens.encodingFor("gpt-4.1-mini")).toBe("o200k_base")
    expect(Tokens.encodingFor("o3-mini")).toBe("o200k_base")
    expect(Tokens.encodingFor("gpt-5-nano")).toBe("o200k_base")
    expect(Tokens.encodingFor("gpt-4-0613")).toBe("cl100k_base")
    expect(Tokens.encodingFor("gpt-3.5-turbo")).toBe("cl100k_base")
    expect(Tokens.encodingFor("text-embedding-3-small")).toBe("cl100k_base")
    expect(Tokens.encodingFor("ft:gpt-4o-mini:acme::abc")).toBe("o200k_base")
  })

  it("maxOutput prefers max_completion_tokens, then max_tokens, then the default, times n", () => {
    expect(Tokens.maxOutput({ max_completion_tokens: 10, max_tokens: 20 }, 99)).toBe(10)
    expect(Tokens.maxOutput({ max_tokens: 20 }, 99)).toBe(20)
    expect(Tokens.maxOutput({}, 99)).toBe(99)
    expect(Tokens.maxOutput({ max_tokens: 20, n: 3 }, 99)).toBe(60)
    expect(Tokens.maxOutput(undefined, 7)).toBe(7)
  })

  it.effect("counts chat messages with OpenAI's per-message overhead (cookbook example)", () =>
    Effect.gen(function* () {
      const tokens = yield* Tokens.make({ exact: true })
      // The cookbook's 'hello world' check: 1 message → 3 overhead + role(1) + content + 3 priming.
      const one = yield* tokens.estimate(chat("gpt-4o", { messages: [{ role: "user", content: "hello world" }] }))
      expect(one.promptTokens).toBe(3 + 1 + 2 + 3)
      expect(one.maxOutputTokens).toBe(4096)
      const named = yield* tokens.estimate(
        chat("gpt-4o", { messages: [{ role: "user", name: "ann", content: "hello world" }], max_tokens: 5 })
      )
      expect(named.promptTokens).toBe(one.promptTokens + 1 + 1)
      expect(named.maxOutputTokens).toBe(5)
    })
  )

  it.effect("counts content parts, images and tool definitions", () =>
    Effect.gen(function* () {
      const tokens = yield* Tokens.make({ exact: true })
      const plain = yield* tokens.estimate(chat("gpt-4o", { messages: [{ role: "user", content: "describe this" }] }))
      const parts = yield* tokens.estimate(
        chat("gpt-4o", {
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "describe this" },
                { type: "image_url", image_url: { url: "https://x/y.png", detail: "low" } }
              ]
            }
          ]
        })
      )
      expect(parts.promptTokens).toBe(plain.promptTokens + Tokens.imageTokens.low)
      const tools = yield* tokens.estimate(
        chat("gpt-4o", {
          messages: [{ role: "user", content: "describe this" }],
          tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]
        })
      )
      expect(tools.promptTokens).toBeGreaterThan(plain.promptTokens + Tokens.overhead.toolsBase)
    })
  )

  it.effect("counts embeddings input in all four shapes, with no output", () =>
    Effect.gen(function* () {
      const tokens = yield* Tokens.make({ exact: true })
      const e = (input: unknown) =>
        tokens.estimate({ path: "/embeddings", model: "text-embedding-3-small", body: { input } })
      const one = yield* e("hello world")
      expect(one).toEqual({ promptTokens: 2, maxOutputTokens: 0 })
      expect((yield* e(["hello world", "hello world"])).promptTokens).toBe(4)
      expect((yield* e([1, 2, 3])).promptTokens).toBe(3)
      expect((yield* e([[1, 2], [3]])).promptTokens).toBe(3)
    })
  )

  it.effect("uses the model's encoding and treats special tokens in content as text", () =>
    Effect.gen(function* () {
      const tokens = yield* Tokens.make({ exact: true })
      expect(yield* tokens.count("a <|endoftext|> b", "o200k_base")).toBeGreaterThan(3)
      const text = "Sluice regulates flow through typed gates. ".repeat(20)
      const o200k = yield* tokens.count(text, "o200k_base")
      const cl100k = yield* tokens.count(text, "cl100k_base")
      expect(o200k).toBeGreaterThan(0)
      expect(cl100k).toBeGreaterThan(0)
    })
  )

  it.effect("long strings are cached: a repeated system prompt gives the same count", () =>
    Effect.gen(function* () {
      const tokens = yield* Tokens.make({ exact: true, cacheMinLength: 10 })
      const system = "You are a careful assistant. ".repeat(50)
      const request = chat("gpt-4o-mini", {
        messages: [
          { role: "system", content: system },
          { role: "user", content: "hi" }
        ]
      })
      const first = yield* tokens.estimate(request)
      const second = yield* tokens.estimate(request)
      const uncached = yield* (yield* Tokens.make({ exact: true, cacheCapacity: 0 })).estimate(request)
      expect(second).toEqual(first)
      expect(uncached).toEqual(first)
    })
  )

  it("counts an empty or bodiless request as zero without loading a tokenizer", () => {
    expect(Tokens.countPrompt(() => 1, "/models", undefined)).toBe(0)
    expect(Tokens.countPrompt((s) => s.length, "/chat/completions", { messages: [] })).toBe(
      Tokens.overhead.replyPriming
    )
  })

  describe("long runs without whitespace", () => {
    const exact = (text: string) => o200k.countTokens(text, { disallowedSpecial: new Set() })
    const exactCl100k = (text: string) => cl100k.countTokens(text, { disallowedSpecial: new Set() })
    const estimateO200k = (text: string) => LongText.countNow(o200k, O200K_TOKEN_SPLIT_REGEX, text)
    const estimateCl100k = (text: string) => LongText.countNow(cl100k, CL100K_TOKEN_SPLIT_REGEX, text)
    const contentOf = (text: string) => chat("gpt-4o-mini", { messages: [{ role: "user", content: text }] })
    const overheads = Tokens.overhead.perMessage + 1 + Tokens.overhead.replyPriming // + "user"

    it.effect("a 5 MB line of one character is counted (in linear time), between its exact count and its bytes", () =>
      Effect.gen(function* () {
        const tokens = yield* Tokens.make({ exact: true })
        const text = "a".repeat(5 * 1024 * 1024)
        const estimate = yield* tokens.estimate(contentOf(text))
        const prompt = estimate.promptTokens - overheads
        // 8 a's per token in o200k (measured on shorter runs); pieces add at most one token per 256 characters.
        expect(prompt).toBeGreaterThanOrEqual(text.length / 8)
        expect(prompt).toBeLessThanOrEqual(text.length / 8 + text.length / 256 + 2)
        expect(yield* tokens.count(text, "cl100k_base")).toBeLessThanOrEqual(text.length)
      })
    )

    it.effect("a multi-megabyte run of random letters, or of spaces, stays under its UTF-8 byte count", () =>
      Effect.gen(function* () {
        const tokens = yield* Tokens.make({ exact: true })
        let seed = 7
        const letter = () => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff
          return String.fromCharCode(97 + (seed % 26))
        }
        const random = Array.from({ length: 2 * 1024 * 1024 }, letter).join("")
        const spaces = " ".repeat(3 * 1024 * 1024)
        const randomCount = yield* tokens.count(random, "o200k_base")
        expect(randomCount).toBeGreaterThan(random.length / 8)
        expect(randomCount).toBeLessThanOrEqual(random.length)
        const spaceCount = yield* tokens.count(spaces, "o200k_base")
        expect(spaceCount).toBeGreaterThan(0)
        expect(spaceCount).toBeLessThanOrEqual(spaces.length)
      })
    )

    it.effect("a huge prompt does not block the fiber: another fiber runs while it is counted", () =>
      Effect.gen(function* () {
        const tokens = yield* Tokens.make({ exact: true })
        yield* tokens.count("warm up", "o200k_base")
        let ticks = 0
        const ticker = yield* Effect.forkChild(
          Effect.forever(
            Effect.andThen(
              Effect.sync(() => ticks++),
              Effect.yieldNow
            )
          )
        )
        yield* tokens.estimate(contentOf("ab".repeat(1024 * 1024)))
        yield* Fiber.interrupt(ticker)
        expect(ticks).toBeGreaterThan(10)
      })
    )

    const ordinaryText = Arbitrary.map(
      Arbitrary.array(
        oneOf(
          constantFrom(
            "the",
            "quick",
            "Brown",
            "fox's",
            "naïve",
            "日本語",
            "ОК",
            "12345",
            "🙂",
            "x_y",
            "<|endoftext|>"
          ),
          constantFrom(" ", "  ", "\n", "\r\n", "\t", ".", ", ", "!?", "/", " -- "),
          string(12)
        ),
        { maxLength: 400 }
      ),
      (parts) => parts.join("")
    )

    it.prop("ordinary text (no run longer than 256 characters) is counted exactly", [ordinaryText], ([text]) => {
      expect(estimateO200k(text)).toBe(exact(text))
      expect(estimateCl100k(text)).toBe(exactCl100k(text))
    })

    it("ordinary text longer than one segment (16 K characters) is still counted exactly", () => {
      let seed = 1
      const pick = <A>(items: ReadonlyArray<A>): A => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        return items[seed % items.length]!
      }
      const parts = [
        "the",
        "Brown",
        "fox's",
        "日本語",
        "12345",
        "🙂",
        "<|endoftext|>",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "!?",
        "/"
      ]
      for (let run = 0; run < 3; run++) {
        let text = ""
        while (text.length < 60_000) text += pick(parts)
        expect(estimateO200k(text)).toBe(exact(text))
        expect(estimateCl100k(text)).toBe(exactCl100k(text))
      }
    })

    const longRun = Arbitrary.map(
      Arbitrary.all([
        constantFrom("a", "ab", "xyz", "Aa", "é", "日本", "🙂", "!", "-=", " ", "\n", "9a", "qwertyuiop"),
        Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 1500 }))),
        string(8),
        string(8)
      ]),
      ([unit, times, before, after]) => `${before}${unit.repeat(times)}${after}`
    )

    it.prop(
      "a long run is estimated at least at its exact count and at most at its UTF-8 bytes",
      [longRun],
      ([text]) => {
        const estimate = estimateO200k(text)
        expect(estimate).toBeGreaterThanOrEqual(exact(text))
        expect(estimateCl100k(text)).toBeGreaterThanOrEqual(exactCl100k(text))
        expect(estimate).toBeLessThanOrEqual(Buffer.byteLength(text, "utf8"))
      },
      { arbitrary: { runs: 60 } }
    )
  })
})

describe("Tokens: the default estimate is the UTF-8 byte bound (no tokenizer)", () => {
  const exact = (text: string) => o200k.countTokens(text, { disallowedSpecial: new Set() })
  const text = Arbitrary.schema(Schema.String.check(Schema.isMaxLength(300)))

  it.effect("promptTokens is the bytes of the text plus the documented overheads; the limiter's is chars ÷ 4", () =>
    Effect.gen(function* () {
      const tokens = yield* Tokens.make()
      const estimate = yield* tokens.estimate(
        chat("gpt-4o-mini", { messages: [{ role: "user", content: "héllo wörld 👋" }], max_tokens: 7 })
      )
      const bytes = Buffer.byteLength("héllo wörld 👋") + Buffer.byteLength("user")
      const overheads = Tokens.overhead.perMessage + Tokens.overhead.replyPriming
      expect(estimate).toEqual({
        promptTokens: bytes + overheads,
        maxOutputTokens: 7,
        admissionPromptTokens: Math.ceil("héllo wörld 👋".length / 4) + 1 + overheads
      })
    })
  )

  it.prop(
    "never below the exact count (chat messages of any text, o200k and cl100k)",
    [Arbitrary.array(text, { maxLength: 4 })],
    ([contents]) =>
      Effect.gen(function* () {
        const bound = yield* Tokens.make()
        const exactTokens = yield* Tokens.make({ exact: true })
        for (const model of ["gpt-4o-mini", "gpt-4"]) {
          const request = chat(model, { messages: contents.map((content) => ({ role: "user", content })) })
          const a = yield* bound.estimate(request)
          const b = yield* exactTokens.estimate(request)
          expect(a.promptTokens).toBeGreaterThanOrEqual(b.promptTokens)
        }
        for (const content of contents) expect(Tokens.utf8Bytes(content)).toBeGreaterThanOrEqual(exact(content))
        for (const content of contents) expect(Tokens.utf8Bytes(content)).toBe(Buffer.byteLength(content))
      }).pipe(Effect.runPromise)
  )

  it("importing @sluice/core and estimating a call loads no gpt-tokenizer module; an exact count does", () => {
    const script = `
      import { registerHooks } from "node:module"
      const loaded = []
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); if (r.url.includes("gpt-tokenizer")) loaded.push(r.url); return r } })
      const { Tokens } = await import("@sluice/core")
      const { Effect } = await import("effect")
      const tokens = await Effect.runPromise(Tokens.make())
      await Effect.runPromise(tokens.estimate({ path: "/chat/completions", model: "gpt-4o", body: { messages: [{ role: "user", content: "hi" }] } }))
      const before = loaded.length
      await Effect.runPromise(tokens.count("hi", "o200k_base"))
      console.log(JSON.stringify({ before, after: loaded.length }))
    `
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: Path.join(__dirname, ".."),
      encoding: "utf8"
    })
    const { before, after } = JSON.parse(out.trim().split("\n").pop()!) as { before: number; after: number }
    expect(before).toBe(0)
    expect(after).toBeGreaterThan(0)
  })
})
