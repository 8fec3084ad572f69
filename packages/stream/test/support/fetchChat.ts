import { Effect } from "effect"

/** A streaming chat request with the global fetch (usage chunk asked for); the Web response. */
export const fetchChat = (url: string, content: string) =>
  Effect.promise(() =>
    fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-test", "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content }],
        stream: true,
        stream_options: { include_usage: true }
      })
    })
  )
