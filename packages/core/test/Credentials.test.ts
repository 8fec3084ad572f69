import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { expect, it } from "@effect/vitest"
import { Credentials } from "@sluice/core"
import { Effect, Redacted } from "effect"

const tempFile = (content: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-credentials-"))
  const file = Path.join(dir, "key")
  Fs.writeFileSync(file, content)
  return file
}

it.effect("fromFile: a file caught empty mid-rewrite keeps the key read before; the new content is read next", () =>
  Effect.gen(function* () {
    const file = tempFile("sk-first-key-0123456789\n")
    const credentials = yield* Effect.provide(Credentials.Credentials, Credentials.fromFile(file))
    const first = yield* credentials.get
    expect(Redacted.value(first.key)).toBe("sk-first-key-0123456789")
    Fs.truncateSync(file, 0) // what writeFile does first
    const during = yield* credentials.get
    expect(during.keyId).toBe(first.keyId)
    Fs.writeFileSync(file, "sk-second-key-9876543210\n")
    const after = yield* credentials.get
    expect(Redacted.value(after.key)).toBe("sk-second-key-9876543210")
    expect(after.keyId).not.toBe(first.keyId)
  })
)

it.effect("fromFile: empty before any key was read is CredentialsUnavailable naming the path", () =>
  Effect.gen(function* () {
    const file = tempFile("")
    const error = yield* Effect.flip(
      Effect.flatMap(Credentials.Credentials, (credentials) => credentials.get).pipe(
        Effect.provide(Credentials.fromFile(file))
      )
    )
    expect(error._tag).toBe("CredentialsUnavailable")
    expect(error.message).toContain(file)
    expect(error.message).toContain("empty")
  })
)
