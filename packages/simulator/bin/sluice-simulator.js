#!/usr/bin/env node
// The `sluice-simulator` bin: the Node check, the relaunch on an older Node and the missing-build message are in
// ./launcher.js (shared with the `sluice` bin of @sluice/cli).
import { launch } from "./launcher.js"

await launch({ name: "sluice-simulator", bin: import.meta.url, built: "../dist/bin.js", package: "packages/simulator" })
