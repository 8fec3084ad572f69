/**
 * One lock for the test support's one-time work (unpacking Chromium, fetching redis-server, building llama-server),
 * shared by the parallel test workers and by every clone on the machine: a lock directory that holds its owner's
 * pid. A waiter takes the lock over when that process is gone, or, when no pid can be read (a holder that died
 * between creating the directory and writing it), when the directory is older than `staleMs`. A live holder is
 * waited for however long its work takes (a llama-server build takes minutes).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const holderGone = (lock: string): boolean => {
  const pid = Number.parseInt(Fs.readFileSync(Path.join(lock, "pid"), { encoding: "utf8", flag: "r" }), 10)
  return Number.isInteger(pid) && pid > 0 ? !alive(pid) : false
}

const orphaned = (lock: string, staleMs: number): boolean => {
  try {
    return holderGone(lock)
  } catch {
    // No pid (yet): a holder that is about to write it, or one that died before it did.
    const age = Date.now() - (Fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
    return age > staleMs
  }
}

/** Runs `body` holding the lock directory `lock` (its parent is created). */
export const withLock = async <A>(
  lock: string,
  body: () => Promise<A>,
  options: { readonly staleMs?: number; readonly pollMs?: number } = {}
): Promise<A> => {
  const staleMs = options.staleMs ?? 120_000
  Fs.mkdirSync(Path.dirname(lock), { recursive: true })
  for (;;) {
    try {
      Fs.mkdirSync(lock)
      Fs.writeFileSync(Path.join(lock, "pid"), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      if (orphaned(lock, staleMs)) Fs.rmSync(lock, { recursive: true, force: true })
      else await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100))
    }
  }
  try {
    return await body()
  } finally {
    Fs.rmSync(lock, { recursive: true, force: true })
  }
}
