// Package reports renders trials and their verdicts for people: one
// self-contained HTML file per run (a scorecard, a timeline chart per trial
// drawn as inline SVG, the evidence, the timeline history and how the trial
// was run) and a Markdown summary for CI job summaries and pull requests.
//
// A run is a directory of trial directories (or a single trial directory);
// LoadRun reads it, Render and Markdown write it. Reports depend on history
// only: verdicts are read from verdict.json, never recomputed, and a trial
// without one is shown as not checked.
package reports
