import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { Credentials } from "@sluice/core"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"

const tempFile = (content: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-credentials-"))
  const file = Path.join(dir, "key")
  Fs.writeFileSync(file, content)
  return file
}

it.effect("fromFile: a file caught empty mid-rewrite keeps the key read before; the new content is read next", () =>
  Effect.gen(function* () {
    const file = tempFile("sk-first-key-0123456789\n")
    const credentials = yield* Effect.provide(
      Credentials.Credentials,
      Credentials.fromFile(file).pipe(Layer.provide(NodeFileSystem.layer))
    )
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
        Effect.provide(Credentials.fromFile(file).pipe(Layer.provide(NodeFileSystem.layer)))
      )
    )
    expect(error._tag).toBe("CredentialsUnavailable")
    expect(error.message).toContain(file)
    expect(error.message).toContain("empty")
  })
)

it.effect(
  "fromConfig: read on every get, a rotated key is picked up and fingerprinted, an unchanged one keeps its id",
  () =>
    Effect.gen(function* () {
      const env = { OPENAI_API_KEY: "sk-config-first-0123456789" }
      // a provider that reads the variable at every lookup (a rotation job changing the environment)
      const live = ConfigProvider.make((path) =>
        Effect.succeed(path[0] === "OPENAI_API_KEY" ? ConfigProvider.makeValue(env.OPENAI_API_KEY) : undefined)
      )
      const credentials = yield* Effect.provide(
        Credentials.Credentials,
        Credentials.fromConfig().pipe(Layer.provide(ConfigProvider.layer(live)))
      )
      const first = yield* credentials.get
      expect(Redacted.value(first.key)).toBe("sk-config-first-0123456789")
      expect(first.keyId).toBe(Credentials.fingerprint(Redacted.make("sk-config-first-0123456789")))
      const again = yield* credentials.get
      expect(again.keyId).toBe(first.keyId)
      env.OPENAI_API_KEY = "sk-config-second-9876543210"
      const rotated = yield* credentials.get
      expect(Redacted.value(rotated.key)).toBe("sk-config-second-9876543210")
      expect(rotated.keyId).toBe(Credentials.fingerprint(Redacted.make("sk-config-second-9876543210")))
      env.OPENAI_API_KEY = "   "
      const empty = yield* Effect.flip(credentials.get)
      expect(empty._tag).toBe("CredentialsUnavailable")
      expect(empty.message).toContain("empty")
      env.OPENAI_API_KEY = "sk-config-first-0123456789"
      const back = yield* credentials.get
      expect(Redacted.value(back.key)).toBe("sk-config-first-0123456789")
      expect(back.keyId).toBe(first.keyId)
    })
)

it.effect("fromConfig: the provider the layer was built with wins; without one, the caller's is read", () =>
  Effect.gen(function* () {
    const provider = (key: string) => ConfigProvider.fromEnv({ env: { OPENAI_API_KEY: key } })
    const built = yield* Effect.provide(
      Credentials.Credentials,
      Credentials.fromConfig().pipe(Layer.provide(ConfigProvider.layer(provider("sk-config-built-0123456789"))))
    )
    const fromBuilt = yield* credentials(built).pipe(
      Effect.provide(ConfigProvider.layer(provider("sk-config-caller-9876543210")))
    )
    expect(Redacted.value(fromBuilt.key)).toBe("sk-config-built-0123456789")
    const bare = yield* Effect.provide(Credentials.Credentials, Credentials.fromConfig())
    const fromCaller = yield* credentials(bare).pipe(
      Effect.provide(ConfigProvider.layer(provider("sk-config-caller-9876543210")))
    )
    expect(Redacted.value(fromCaller.key)).toBe("sk-config-caller-9876543210")
  })
)

const credentials = (service: Credentials.Credentials["Service"]) => service.get
