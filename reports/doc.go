// Package reports renders trials and verdicts for machines and people:
// results JSON, JUnit XML, the HTML scorecard and operator comparisons. It
// depends on history only.
//
// Empty for now: verdict.json is written by history.WriteReport.
package reports
