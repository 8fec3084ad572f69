/**
 * Response bodies that the library's own transport allocated, as opposed to a caller's `Transport`, which may hand
 * the same bytes out again (a replay, a cache). A decoder that has copied everything it needs out of such a body
 * may release it at once, instead of leaving it to the next full collection: an embeddings answer is 2.8 MB, and
 * one promoted to the old generation (it arrives over several scavenges) stays mapped until V8 collects it, so a
 * job receiving several a second keeps tens of MB of dead bodies (decision 0013, "Memory").
 *
 * @internal
 */

const owned = new WeakSet<ArrayBuffer>()

/** ES2024's resizable/transferable `ArrayBuffer` members (Node 21+; the project's `lib` predates them). */
interface Transferable {
  readonly detached?: boolean
  readonly transfer?: (length: number) => ArrayBuffer
}

/** Marks `bytes` as a body the library allocated and nothing else holds; returns it. @internal */
export const own = (bytes: Uint8Array): Uint8Array => {
  if (bytes.buffer instanceof ArrayBuffer) owned.add(bytes.buffer)
  return bytes
}

/**
 * Frees the memory of an owned body that spans its whole buffer (`ArrayBuffer#transfer(0)` detaches it: its bytes
 * go at once). Anything else (a caller's transport, a view of a larger buffer) is left alone. @internal
 */
export const release = (bytes: Uint8Array): void => {
  const buffer = bytes.buffer
  if (!(buffer instanceof ArrayBuffer) || !owned.has(buffer)) return
  owned.delete(buffer)
  const transferable = buffer as ArrayBuffer & Transferable
  const whole = bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength
  if (whole && transferable.detached === false && transferable.transfer !== undefined) transferable.transfer(0)
}
