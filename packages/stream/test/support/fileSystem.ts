/**
 * Batch reads its input and writes its journal through `FileSystem`: `live` is `it.live` with Node's provided.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { it } from "@effect/vitest"
import { Effect, FileSystem, Layer, type Scope } from "effect"

export const live = <A, E>(
  name: string,
  self: () => Effect.Effect<A, E, Scope.Scope | FileSystem.FileSystem>,
  timeout?: Parameters<typeof it.live>[2]
): void => it.live(name, () => Effect.provide(self(), NodeFileSystem.layer), timeout)

/**
 * Node's FileSystem with every opened file's operations replaced by `override`'s (given the file and its path) (the rest delegate to the file):
 * how a test sees or breaks the journal's writes and fsyncs.
 */
export const withFiles = (
  override: (file: FileSystem.File, path: string) => Partial<Pick<FileSystem.File, "writeAll" | "write" | "sync">>
): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => {
      const wrap = (file: FileSystem.File, path: string): FileSystem.File => {
        const replaced = override(file, path)
        return {
          [FileSystem.FileTypeId]: FileSystem.FileTypeId,
          get stat() {
            return file.stat
          },
          seek: (offset, from) => file.seek(offset, from),
          get sync() {
            return replaced.sync ?? file.sync
          },
          read: (buffer, options) => file.read(buffer, options),
          readAlloc: (size, options) => file.readAlloc(size, options),
          truncate: (length) => file.truncate(length),
          write: replaced.write ?? ((buffer) => file.write(buffer)),
          writeAll: replaced.writeAll ?? ((buffer) => file.writeAll(buffer))
        }
      }
      return FileSystem.make({
        ...fs,
        open: (path, options) => Effect.map(fs.open(path, options), (file) => wrap(file, path))
      })
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))
