// Measures simulator throughput on loopback: starts `dist/bin.js` in its own process, then drives it with an undici
// Pool of keep-alive connections for a fixed time. Usage:
//   node packages/simulator/scripts/throughput.mjs [seconds=5] [connections=64] [json|stream|sliced|bare] [chat|responses|embeddings]
// `bare` drives a minimal node:http server answering "{}" instead: the machine's baseline for comparison.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"

const seconds = Number(process.argv[2] ?? 5)
const connections = Number(process.argv[3] ?? 64)
const sliced = process.argv[4] === "sliced"
const stream = process.argv[4] === "stream" || sliced
const bare = process.argv[4] === "bare"
const api = process.argv[5] ?? "chat"
const requestOf = (w, i) => {
  const text = `hello ${w} ${i % 50}`
  if (api === "embeddings") {
    return {
      path: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input: [text], encoding_format: "base64" }
    }
  }
  if (api === "responses") {
    return {
      path: "/v1/responses",
      body: { model: "gpt-4o-mini", input: text, store: false, ...(stream ? { stream: true } : {}) }
    }
  }
  return {
    path: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: text }], ...(stream ? { stream: true } : {}) }
  }
}
const bareServer = `
const http = require("node:http")
const s = http.createServer((req, res) => { req.resume(); req.on("end", () => {
  res.writeHead(200, { "content-type": "application/json" }); res.end("{}") }) })
s.listen(0, "127.0.0.1", () => console.log("http://127.0.0.1:" + s.address().port + "/v1"))`

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))
const args = bare ? ["-e", bareServer] : [bin, ...(stream && !sliced ? ["--no-slicing"] : [])]
const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
const url = await new Promise((resolve) => child.stdout.once("data", (d) => resolve(String(d).trim())))
const origin = url.replace(/\/v1$/, "")
const pool = new Pool(origin, { connections, pipelining: 1 })

let done = 0
let failed = 0
const latencies = []
const deadline = performance.now() + seconds * 1000
const worker = async (w) => {
  let i = 0
  while (performance.now() < deadline) {
    const started = performance.now()
    const request = requestOf(w, i++)
    const body = JSON.stringify(request.body)
    const res = await pool.request({
      path: request.path,
      method: "POST",
      headers: { authorization: "Bearer sk-bench", "content-type": "application/json" },
      body
    })
    await res.body.text()
    if (res.statusCode === 200) done++
    else failed++
    latencies.push(performance.now() - started)
  }
}
// Server CPU time (user + system, in clock ticks of 10 ms) from /proc: robust even on a busy machine.
const cpuTicks = () => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ")
  return Number(fields[11]) + Number(fields[12])
}
const cpu0 = cpuTicks()
const t0 = performance.now()
await Promise.all(Array.from({ length: connections }, (_, w) => worker(w)))
const elapsed = (performance.now() - t0) / 1000
const serverCpuSeconds = (cpuTicks() - cpu0) / 100
latencies.sort((a, b) => a - b)
const p = (q) => latencies[Math.floor(q * (latencies.length - 1))].toFixed(2)
console.log(
  JSON.stringify({
    mode: bare ? "bare" : sliced ? "stream-sliced" : stream ? "stream" : "json",
    api,
    connections,
    seconds: Number(elapsed.toFixed(2)),
    ok: done,
    failed,
    rps: Math.round(done / elapsed),
    p50ms: Number(p(0.5)),
    p99ms: Number(p(0.99)),
    serverCpuSeconds,
    serverCpuUsPerRequest: Math.round((serverCpuSeconds * 1e6) / (done + failed)),
    oneCoreCapacityRps: Math.round((done + failed) / serverCpuSeconds)
  })
)
if (!bare) {
  const stats = await (await fetch(`${origin}/__sim/stats`)).json()
  console.log(
    JSON.stringify({ serverRequests: stats.requests, successes: stats.successes, maxConcurrent: stats.maxConcurrent })
  )
}
await pool.close()
child.kill("SIGTERM")
