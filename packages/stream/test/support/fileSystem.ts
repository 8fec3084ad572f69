/**
 * Batch reads its input and writes its journal through `FileSystem`: `live` is `it.live` with Node's provided.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { it } from "@effect/vitest"
import { Effect, type FileSystem, type Scope } from "effect"

export const live = <A, E>(
  name: string,
  self: () => Effect.Effect<A, E, Scope.Scope | FileSystem.FileSystem>,
  timeout?: Parameters<typeof it.live>[2]
): void => it.live(name, () => Effect.provide(self(), NodeFileSystem.layer), timeout)
