import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Result, Stream } from "effect"
import { Utf8Validator } from "../src/internal/utf8.js"
import * as Sse from "../src/Sse.js"
import * as fc from "./support/arbitraries.js"

const encoder = new TextEncoder()
const bytes = (input: string | Uint8Array): Uint8Array => (typeof input === "string" ? encoder.encode(input) : input)

const decodeChunks = (chunks: ReadonlyArray<string | Uint8Array>, options?: Sse.DecodeOptions) =>
  Stream.fromIterable(chunks.map(bytes)).pipe(Sse.decode(options), Stream.runCollect)

const ev = Sse.event

const splitAt = (input: Uint8Array, points: ReadonlyArray<number>): Array<Uint8Array> => {
  const sorted = [...new Set(points.map((p) => p % (input.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let last = 0
  for (const p of sorted) {
    out.push(input.subarray(last, p))
    last = p
  }
  out.push(input.subarray(last))
  return out
}

describe("Sse.decode", () => {
  it.effect("LF, CR and CRLF line endings", () =>
    Effect.gen(function* () {
      for (const eol of ["\n", "\r", "\r\n"]) {
        const events = yield* decodeChunks([`data: a${eol}data: b${eol}${eol}data: c${eol}${eol}`])
        expect(events).toEqual([ev({ data: "a\nb" }), ev({ data: "c" })])
      }
    })
  )

  it.effect("a CR at the end of a chunk and an LF at the start of the next are one line end", () =>
    Effect.gen(function* () {
      const events = yield* decodeChunks(["data: a\r", "\ndata: b\r", "\n\r", "\n"])
      expect(events).toEqual([ev({ data: "a\nb" })])
      // two CRs are two line ends even when split
      expect(yield* decodeChunks(["data: a\r", "\rdata: b\r\r"])).toEqual([ev({ data: "a" }), ev({ data: "b" })])
    })
  )

  it.effect("comments are ignored and unknown fields skipped", () =>
    Effect.gen(function* () {
      const events = yield* decodeChunks([": keep-alive\n:\ndata: x\nfoo: bar\n: more\n\n"])
      expect(events).toEqual([ev({ data: "x" })])
    })
  )

  it.effect("a single leading space after the colon is stripped; no colon means an empty value", () =>
    Effect.gen(function* () {
      const events = yield* decodeChunks(["data:x\n\ndata:  two\n\ndata\n\ndata:\ndata:\n\n"])
      expect(events.map((e) => e.data)).toEqual(["x", " two", "", "\n"])
    })
  )

  it.effect("event:, id: and retry: fields", () =>
    Effect.gen(function* () {
      const events = yield* decodeChunks([
        "event: delta\nid: 1\nretry: 3000\ndata: a\n\n",
        // id persists, event type and retry do not
        "data: b\n\n",
        // id with NUL is ignored, retry with non-digits is ignored, empty event type is "message"
        "id: x\u0000y\nretry: 10a\nevent:\ndata: c\n\n",
        // empty id resets to ""
        "id\ndata: d\n\n"
      ])
      expect(events).toEqual([
        ev({ event: "delta", data: "a", id: "1", retry: 3000 }),
        ev({ data: "b", id: "1" }),
        ev({ data: "c", id: "1" }),
        ev({ data: "d", id: "" })
      ])
    })
  )

  it.effect("a blank line without data dispatches nothing and resets the event type", () =>
    Effect.gen(function* () {
      const events = yield* decodeChunks(["\n\nevent: x\n\ndata: a\n\n"])
      expect(events).toEqual([ev({ data: "a" })])
    })
  )

  it.effect("a byte-order mark at the start is stripped, also when split; elsewhere it is kept", () =>
    Effect.gen(function* () {
      const bom = [0xef, 0xbb, 0xbf]
      const whole = yield* decodeChunks([new Uint8Array([...bom, ...encoder.encode("data: a\n\n")])])
      expect(whole).toEqual([ev({ data: "a" })])
      const split = yield* decodeChunks([new Uint8Array([0xef]), new Uint8Array([0xbb, 0xbf, 0x64]), "ata: a\n\n"])
      expect(split).toEqual([ev({ data: "a" })])
      // a second BOM makes the field name "\uFEFFdata", an unknown field
      const twice = yield* decodeChunks([new Uint8Array([...bom, ...bom, ...encoder.encode("data: a\n\ndata: b\n\n")])])
      expect(twice).toEqual([ev({ data: "b" })])
    })
  )

  it.effect("UTF-8 characters split across chunks", () =>
    Effect.gen(function* () {
      const all = encoder.encode("data: héllo 世界 🎉\n\n")
      const oneByte = Array.from(all, (b) => new Uint8Array([b]))
      expect(yield* decodeChunks(oneByte)).toEqual([ev({ data: "héllo 世界 🎉" })])
    })
  )

  it.effect("an event without a terminating blank line is discarded unless dispatchIncompleteEvent", () =>
    Effect.gen(function* () {
      expect(yield* decodeChunks(["data: a\n\ndata: b\n"])).toEqual([ev({ data: "a" })])
      expect(yield* decodeChunks(["data: a\n\ndata: b"])).toEqual([ev({ data: "a" })])
      const lenient = { dispatchIncompleteEvent: true }
      expect(yield* decodeChunks(["data: a\n\ndata: b\n"], lenient)).toEqual([ev({ data: "a" }), ev({ data: "b" })])
      expect(yield* decodeChunks(["data: a\n\ndata: b"], lenient)).toEqual([ev({ data: "a" }), ev({ data: "b" })])
      expect(yield* decodeChunks(["data: a\n\n"], lenient)).toEqual([ev({ data: "a" })])
    })
  )

  it.effect("an event over maxEventBytes fails with a typed error naming the line", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        decodeChunks(["data: ok\n\n: comment\ndata: 12345\ndata: 67890\n\n"], { maxEventBytes: 10 })
      )
      expect(error._tag).toBe("SseDecodeError")
      expect(error.reason).toBe("EventTooLarge")
      expect(error.line).toBe(5)
      expect(error.message).toContain("line 5")
    })
  )

  it.effect("a line that never ends cannot buffer without bound", () =>
    Effect.gen(function* () {
      const endless = Stream.succeed(encoder.encode("xxxxxxxxxx")).pipe(Stream.forever).pipe(Stream.take(10_000))
      const error = yield* Effect.flip(Stream.runDrain(Sse.decode(endless, { maxEventBytes: 1024 })))
      expect(error).toMatchObject({ _tag: "SseDecodeError", reason: "EventTooLarge", line: 1 })
    })
  )

  it.effect("events before the failure are delivered", () =>
    Effect.gen(function* () {
      const collected: Array<Sse.Event> = []
      const result = yield* Stream.make(encoder.encode("data: a\n\ndata: 0123456789012\n\n")).pipe(
        Sse.decode({ maxEventBytes: 10 }),
        Stream.runForEach((e) => Effect.sync(() => collected.push(e))),
        Effect.result
      )
      expect(collected).toEqual([ev({ data: "a" })])
      expect(Result.isFailure(result)).toBe(true)
    })
  )

  it.effect("invalid UTF-8: U+FFFD by default, a typed error naming the line with strictUtf8", () =>
    Effect.gen(function* () {
      const input = new Uint8Array([...encoder.encode("data: a\n\ndata: "), 0xff, 0x0a, 0x0a])
      expect(yield* decodeChunks([input])).toEqual([ev({ data: "a" }), ev({ data: "\uFFFD" })])
      const error = yield* Effect.flip(decodeChunks([input], { strictUtf8: true }))
      expect(error).toMatchObject({ _tag: "SseDecodeError", reason: "InvalidUtf8", line: 3 })
    })
  )

  it.effect("strictUtf8 names the line of an invalid sequence split across chunks, after the events before it", () =>
    Effect.gen(function* () {
      const chunks = [
        encoder.encode("data: a\n\ndata: "),
        new Uint8Array([0xe4]),
        new Uint8Array([0xb8, 0x41, 0x0a, 0x0a])
      ]
      const collected: Array<Sse.Event> = []
      const error = yield* Stream.fromIterable(chunks).pipe(
        Sse.decode({ strictUtf8: true }),
        Stream.runForEach((e) => Effect.sync(() => collected.push(e))),
        Effect.flip
      )
      expect(collected).toEqual([ev({ data: "a" })])
      expect(error).toMatchObject({ _tag: "SseDecodeError", reason: "InvalidUtf8", line: 3 })
      // a complete character split across chunks is fine, and so is invalid UTF-8 in lenient mode
      expect(
        yield* decodeChunks(
          [new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xe4]), new Uint8Array([0xb8, 0x96, 0x0a, 0x0a])],
          { strictUtf8: true }
        )
      ).toEqual([ev({ data: "世" })])
      expect(yield* decodeChunks(chunks)).toEqual([ev({ data: "a" }), ev({ data: "\uFFFDA" })])
    })
  )

  it.effect("maxEventBytes counts the data's UTF-8 bytes, not its characters", () =>
    Effect.gen(function* () {
      const limit = { maxEventBytes: 10 }
      expect(yield* decodeChunks(["data: ééééé\n\n"], limit)).toEqual([ev({ data: "ééééé" })])
      const error = yield* Effect.flip(decodeChunks(["data: a\n\ndata: éééééé\n\n"], limit))
      expect(error).toMatchObject({ reason: "EventTooLarge", line: 3 })
      const lines = yield* Effect.flip(decodeChunks(["data: éé\ndata: ééé\n\n"], limit))
      expect(lines).toMatchObject({ reason: "EventTooLarge", line: 2 })
    })
  )

  it.effect("upstream failures pass through", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Stream.make(encoder.encode("data: a\n\n")).pipe(
          Stream.concat(Stream.fail("boom" as const)),
          Sse.decode(),
          Stream.runDrain
        )
      )
      expect(error).toBe("boom")
    })
  )

  it.effect("the channel can be reused: each run has its own state", () =>
    Effect.gen(function* () {
      const channel = Sse.channel()
      const run = Stream.make(encoder.encode("data: a\n")).pipe(Stream.pipeThroughChannel(channel), Stream.runCollect)
      expect(yield* run).toEqual([])
      const second = Stream.make(encoder.encode("\ndata: b\n\n")).pipe(Stream.pipeThroughChannel(channel))
      expect(yield* Stream.runCollect(second)).toEqual([ev({ data: "b" })])
    })
  )
})

// --- properties -------------------------------------------------------------------------------

const text = (exclude: RegExp) => Arbitrary.map(fc.unicodeString(12), (s) => s.replace(exclude, ""))

const eventArbitrary = Arbitrary.all({
  event: fc.option(fc.stringMatching(/^[a-z]{1,8}$/)),
  dataLines: Arbitrary.array(text(/[\r\n]/g), { minLength: 1, maxLength: 4 }),
  id: fc.option(text(/[\r\n\u0000]/g)),
  retry: fc.option(fc.nat),
  comment: fc.option(text(/[\r\n]/g))
})

type GeneratedEvent = typeof eventArbitrary extends Arbitrary.Arbitrary<infer A> ? A : never

const eolArbitrary = fc.constantFrom("\n", "\r", "\r\n")

/** Writes the events with a random line ending per line; returns the bytes and the events a decoder must see. */
const render = (events: ReadonlyArray<GeneratedEvent>, eols: ReadonlyArray<string>, bom: boolean) => {
  let out = bom ? "\uFEFF" : ""
  let i = 0
  let previousEol = ""
  const line = (content: string) => {
    let eol = eols[i++ % eols.length]!
    // "\r" followed by an empty line ended by "\n" is one CRLF on the wire, not two line ends
    if (content === "" && previousEol === "\r" && eol === "\n") eol = "\r"
    out += content + eol
    previousEol = eol
  }
  const expected: Array<Sse.Event> = []
  let lastId: string | undefined
  for (const e of events) {
    if (e.comment !== undefined) line(":" + e.comment)
    if (e.event !== undefined) line("event: " + e.event)
    if (e.id !== undefined) line("id: " + e.id)
    if (e.retry !== undefined) line("retry:" + e.retry)
    for (const d of e.dataLines) line("data: " + d)
    line("")
    if (e.id !== undefined) lastId = e.id
    expected.push(ev({ event: e.event, data: e.dataLines.join("\n"), id: lastId, retry: e.retry }))
  }
  return { bytes: encoder.encode(out), expected }
}

const runSync = (chunks: ReadonlyArray<Uint8Array>) => Effect.runSync(decodeChunks(chunks))

// Text with line breaks of every style among the characters (fast-check's binary strings had them by chance).
const dataWithLineBreaks = Arbitrary.map(
  Arbitrary.array(Arbitrary.all([fc.unicodeString(6), fc.option(fc.constantFrom("\n", "\r", "\r\n"))]), {
    maxLength: 5
  }),
  (parts) => parts.map(([text, eol]) => text + (eol ?? "")).join("")
)

describe("Sse properties", () => {
  it.prop(
    "the strict validator finds the first invalid byte, across any split, as the WHATWG decoder judges it",
    { bytes: Arbitrary.array(fc.nat, { maxLength: 24 }), splits: Arbitrary.array(fc.nat, { maxLength: 6 }) },
    ({ bytes: raw, splits }) => {
      // mostly bytes that make or break UTF-8 sequences
      const input = new Uint8Array(
        raw.map((n) => [0x41, 0x0a, 0x80, 0xbf, 0xc2, 0xe0, 0xe4, 0xed, 0xf0, 0xf4, 0xff][n % 11]!)
      )
      const validator = new Utf8Validator()
      let offset = 0
      let invalid = -1
      for (const part of splitAt(input, splits)) {
        const at = validator.check(part)
        if (at !== -1) {
          invalid = offset + at
          break
        }
        offset += part.length
      }
      const fatal = (end: number) => {
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(input.subarray(0, end), { stream: true })
          return false
        } catch {
          return true
        }
      }
      if (invalid === -1) {
        expect(fatal(input.length)).toBe(false)
      } else {
        expect(fatal(invalid)).toBe(false)
        expect(fatal(invalid + 1)).toBe(true)
      }
    },
    { arbitrary: { runs: 500 } }
  )

  it.prop(
    "any re-chunking of the bytes decodes to the same events",
    {
      events: Arbitrary.array(eventArbitrary, { maxLength: 8 }),
      eols: Arbitrary.array(eolArbitrary, { minLength: 1, maxLength: 7 }),
      bom: fc.boolean,
      splits: Arbitrary.array(fc.nat, { maxLength: 12 })
    },
    ({ bom, eols, events, splits }) => {
      const { bytes: all, expected } = render(events, eols, bom)
      expect(runSync([all])).toEqual(expected)
      expect(runSync(splitAt(all, splits))).toEqual(expected)
      expect(runSync(Array.from(all, (b) => new Uint8Array([b])))).toEqual(expected)
    },
    { arbitrary: { runs: 300, size: 30 } }
  )

  it.prop(
    "decode(encode(events)) == events",
    {
      events: Arbitrary.array(
        Arbitrary.all({
          event: fc.option(fc.stringMatching(/^[a-z]{1,8}$/)),
          data: dataWithLineBreaks,
          id: fc.option(text(/[\r\n\u0000]/g)),
          retry: fc.option(fc.nat)
        }),
        { maxLength: 8 }
      ),
      splits: Arbitrary.array(fc.nat, { maxLength: 8 })
    },
    ({ events, splits }) => {
      const input = events.map((e) => ev(e))
      const wire = encoder.encode(input.map(Sse.encode).join(""))
      let lastId: string | undefined
      const expected = input.map((e) => {
        if (e.id !== undefined) lastId = e.id
        return { ...e, id: lastId, data: e.data.replace(/\r\n|\r/g, "\n") }
      })
      expect(runSync(splitAt(wire, splits))).toEqual(expected)
      const viaBytes = input.map(Sse.encodeBytes)
      expect(runSync(viaBytes)).toEqual(expected)
    },
    { arbitrary: { runs: 300, size: 30 } }
  )
})
