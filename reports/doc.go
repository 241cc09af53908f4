// Package reports renders trials and their verdicts for machines and people:
// one self-contained HTML file per run (a scorecard, a timeline chart per
// trial drawn as inline SVG, the evidence, the timeline history and how the
// trial was run), a Markdown summary for CI job summaries and pull requests,
// a results JSON per run (environment, versions, seeds, scenarios, verdicts
// with figures, per-scenario p50/p95/max unavailability over repeated
// trials), JUnit XML for CI, a plain-text summary table, and the comparison
// of runs (configurations side by side, from their results.json).
//
// A run is a directory of trial directories (or a single trial directory);
// LoadRun reads it, Render and Markdown write it. Reports depend on history
// only: verdicts are read from verdict.json, never recomputed, and a trial
// without one is shown as not checked.
package reports
