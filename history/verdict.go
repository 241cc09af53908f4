package history

// Status is the result of one check.
type Status string

const (
	// Pass means the property held, from evidence.
	Pass Status = "pass"
	// Failed means the property was violated; Evidence shows how.
	Failed Status = "fail"
	// Undecided means the check could not decide; Reason says why.
	Undecided Status = "unknown"
)

// Check names, as they appear in verdict.json (a contract: see DESIGN.md).
const (
	CheckLostAckedWrites     = "lost-acked-writes"
	CheckUnavailability      = "unavailability"
	CheckSplitBrain          = "split-brain"
	CheckWALContinuity       = "wal-continuity"
	CheckReplicationRecovery = "replication-recovery"
	CheckPhantomWrites       = "phantom-writes"
	// CheckExpectations holds the fault's own expectations (history.Expect).
	CheckExpectations = "expectations"
)

// Evidence is one offending operation or observation, for people.
type Evidence struct {
	// What says in a sentence what is wrong with it.
	What string `json:"what"`
	// ID is the write id, when the evidence is an operation.
	ID     int64  `json:"id,omitempty"`
	Client uint32 `json:"client,omitempty"`
	// InvokeS and ReturnS are seconds from the trial's start.
	InvokeS  float64 `json:"invoke_s,omitempty"`
	ReturnS  float64 `json:"return_s,omitempty"`
	Outcome  string  `json:"outcome,omitempty"`
	Node     string  `json:"node,omitempty"`
	Timeline uint32  `json:"timeline,omitempty"`
	LSN      string  `json:"lsn,omitempty"`
}

// Verdict is the result of one checker.
type Verdict struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Summary is one line for the table.
	Summary string `json:"summary"`
	// Reason says why a check is unknown.
	Reason   string         `json:"reason,omitempty"`
	Figures  map[string]any `json:"figures"`
	Evidence []Evidence     `json:"evidence"`
}

// Window is an interval of unavailability, in seconds from the trial's start.
type Window struct {
	StartS  float64 `json:"start_s"`
	EndS    float64 `json:"end_s"`
	Seconds float64 `json:"seconds"`
	// Open is true when writes never came back before the trial ended.
	Open bool `json:"open,omitempty"`
	// Fault names the fault window this unavailability belongs to, if any.
	Fault string `json:"fault,omitempty"`
	// Stages are the moments of recovery, in seconds from the trial's start.
	Stages []Stage `json:"stages,omitempty"`
	// Failed and Unknown count the writes that failed or went unanswered in it.
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
}

// Stage is one named moment of an unavailability window.
type Stage struct {
	Name string  `json:"name"`
	AtS  float64 `json:"at_s"`
}

// ReportSchema is the version of verdict.json that WriteReport writes.
// Version 1 files written before the field existed carry no "schema".
const ReportSchema = 1

// Report is the content of verdict.json.
type Report struct {
	Schema int       `json:"schema"`
	Checks []Verdict `json:"checks"`
}

// Worst returns the overall status: fail if any check failed, else unknown if
// any is unknown, else pass.
func (r Report) Worst() Status {
	st := Pass
	for _, c := range r.Checks {
		switch c.Status {
		case Failed:
			return Failed
		case Undecided:
			st = Undecided
		}
	}
	return st
}
