/**
 * The relay's one page: a prompt box, the streamed answer and a stop button. It reads the relay's SSE with a
 * plain `EventSource`; closing the tab (or pressing stop) closes it, and the relay aborts the upstream call.
 */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sluice chat relay</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  form { display: flex; gap: .5rem; }
  input { flex: 1; font: inherit; padding: .25rem .5rem; }
  pre { white-space: pre-wrap; min-height: 6rem; background: #f4f4f4; padding: 1rem; }
  #status { color: #666; }
</style>
</head>
<body>
<h1>Sluice chat relay</h1>
<form id="ask">
  <input id="prompt" name="q" placeholder="Ask something" value="Tell me a long story.">
  <button type="submit">Send</button>
  <button type="button" id="stop">Stop</button>
</form>
<pre id="out"></pre>
<p id="status">idle</p>
<script>
  const out = document.getElementById("out")
  const status = document.getElementById("status")
  const input = document.getElementById("prompt")
  let source
  const stop = (text) => {
    if (source) source.close()
    source = undefined
    status.textContent = text
  }
  const start = (q) => {
    stop("streaming")
    out.textContent = ""
    source = new EventSource("/chat?q=" + encodeURIComponent(q))
    source.onmessage = (event) => {
      if (event.data === "[DONE]") return stop("done")
      const text = JSON.parse(event.data).choices?.[0]?.delta?.content
      if (text) out.textContent += text
    }
    // A named "error" event is the relay reporting a failure; a plain one is the connection going away.
    // Either way, close: EventSource would otherwise reconnect and ask again.
    source.addEventListener("error", (event) =>
      stop(event.data ? "error: " + JSON.parse(event.data).error.message : "connection lost")
    )
  }
  document.getElementById("ask").addEventListener("submit", (event) => {
    event.preventDefault()
    start(input.value)
  })
  document.getElementById("stop").addEventListener("click", () => stop("stopped"))
  const q = new URLSearchParams(location.search).get("q")
  if (q !== null) {
    input.value = q
    start(q)
  }
</script>
</body>
</html>
`
