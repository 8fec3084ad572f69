/**
 * Reporting on top of `@sluice/core`'s telemetry events: alert conditions and the self-contained HTML run
 * report. Only the code that reports loads it: importing `@sluice/core` does not.
 *
 * @since 0.2.0
 */
export * as Alerts from "./Alerts.js"
export * as RunReport from "./RunReport.js"
