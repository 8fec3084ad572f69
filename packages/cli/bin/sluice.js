#!/usr/bin/env node
// The `sluice` bin: the Node check, the relaunch on an older Node and the missing-build message are in
// @sluice/simulator's bin/launcher.js (shared with the `sluice-simulator` bin; plain JavaScript, no build needed).
import { launch } from "@sluice/simulator/launcher"

await launch({ name: "sluice", bin: import.meta.url, built: "../dist/bin.js", package: "packages/cli" })
