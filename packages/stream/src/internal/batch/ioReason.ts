/**
 * What a failed file operation says to a person: the OS error code (`ENOENT`, `EACCES` …) when there is one, as
 * `node:fs` reported it, else the error's message.
 *
 * @internal
 */

/** @internal */
export const ioReason = (error: unknown): string => {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? (error as NodeJS.ErrnoException | undefined)?.code
  return code ?? (error as Error | undefined)?.message ?? String(error)
}
