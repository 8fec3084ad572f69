/** What the report tests admit through the gates: one non-streaming chat completion of gpt-4o-mini for `keyId`. */
export const chatAdmission = (keyId: string) => ({
  path: "/chat/completions",
  method: "POST" as const,
  model: "gpt-4o-mini",
  stream: false,
  keyId,
  body: {},
  batch: false
})
