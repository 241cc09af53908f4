// Package reports renders trials and verdicts for machines and people: a
// results JSON per run (environment, versions, seeds, scenarios, verdicts
// with figures, and per-scenario p50/p95/max unavailability over repeated
// trials), JUnit XML for CI, and a plain-text summary table. It depends on
// history only. The HTML scorecard and comparisons are still to come.
package reports
