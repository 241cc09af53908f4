package gameday

import (
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/scenario"
)

// Snapshot is the game day as it stands: what the terminal view and the
// metrics endpoint show.
type Snapshot struct {
	Elapsed time.Duration
	// OK, Failed and Unknown count the writes so far.
	OK, Failed, Unknown int64
	// AckRate and FailRate are per second over the last interval.
	AckRate, FailRate float64
	// Unavailable is how long no write has been acknowledged (0 while
	// writes are acknowledged).
	Unavailable time.Duration
	Instances   []InstanceView
	// Fault is the active fault ("" when none) and Deadline its end.
	Fault    string
	Deadline time.Duration
	// Step is the current step (1-based), Steps their number; Waiting: the
	// step waits for a key.
	Step, Steps int
	Waiting     bool
	// Log is the latest progress lines, oldest first.
	Log []string
}

// InstanceView is one instance as the monitor last saw it.
type InstanceView struct {
	Name      string
	Role      string // primary, replica, unreachable, unknown
	Timeline  uint32
	LagBytes  int64 // a replica's replay lag behind the primary's write position
	Streaming bool
}

// logLines is how many progress lines a snapshot carries.
const logLines = 8

// liveState gathers what a snapshot needs, from the trial and the runner.
type liveState struct {
	tr    *scenario.Trial
	names []string
	start time.Time

	mu       sync.Mutex
	log      []string
	fault    string
	deadline time.Time
	step     int
	steps    int
	waiting  bool
	lastOK   int64
	lastFail int64
	lastAt   time.Time
	lastAck  time.Time
}

func newLiveState(tr *scenario.Trial, spec scenario.Spec, p *Plan) *liveState {
	lv := &liveState{tr: tr, start: time.Now(), steps: len(p.Steps), lastAt: time.Now(), lastAck: time.Now()}
	for _, m := range spec.Monitor {
		lv.names = append(lv.names, m.Name)
	}
	return lv
}

// logger wraps say so that progress lines also reach the snapshots.
func (lv *liveState) logger(say func(string)) func(string) {
	return func(l string) {
		lv.mu.Lock()
		lv.log = append(lv.log, time.Since(lv.start).Round(100*time.Millisecond).String()+" "+l)
		if len(lv.log) > logLines {
			lv.log = lv.log[len(lv.log)-logLines:]
		}
		lv.mu.Unlock()
		say(l)
	}
}

func (lv *liveState) setStep(i int, waiting bool) {
	lv.mu.Lock()
	lv.step, lv.waiting = i+1, waiting
	lv.mu.Unlock()
}

func (lv *liveState) setFault(f string, deadline time.Time) {
	lv.mu.Lock()
	lv.fault, lv.deadline = f, deadline
	lv.mu.Unlock()
}

func (lv *liveState) snapshot() Snapshot {
	now := time.Now()
	st := &lv.tr.Workload.Stats
	s := Snapshot{Elapsed: now.Sub(lv.start), OK: st.OK.Load(), Failed: st.Fail.Load(), Unknown: st.Unknown.Load()}
	lv.mu.Lock()
	if dt := now.Sub(lv.lastAt).Seconds(); dt > 0 {
		s.AckRate = float64(s.OK-lv.lastOK) / dt
		s.FailRate = float64(s.Failed-lv.lastFail) / dt
	}
	if s.OK > lv.lastOK {
		lv.lastAck = now
	}
	lv.lastOK, lv.lastFail, lv.lastAt = s.OK, s.Failed, now
	if since := now.Sub(lv.lastAck); since > time.Second {
		s.Unavailable = since
	}
	s.Fault, s.Step, s.Steps, s.Waiting = lv.fault, lv.step, lv.steps, lv.waiting
	if lv.fault != "" {
		s.Deadline = max(0, lv.deadline.Sub(now))
	}
	s.Log = append([]string(nil), lv.log...)
	lv.mu.Unlock()
	s.Instances = instanceViews(lv.names, lv.tr.Monitor.Latest())
	return s
}

// instanceViews turns the monitor's latest observations into rows.
func instanceViews(names []string, latest []history.Observation) []InstanceView {
	var primaryLSN history.LSN
	for _, o := range latest {
		if o.Reachable && !o.InRecovery && o.WriteLSN > primaryLSN {
			primaryLSN = o.WriteLSN
		}
	}
	out := make([]InstanceView, 0, len(latest))
	for i, o := range latest {
		v := InstanceView{Role: "unknown", Timeline: o.Timeline, Streaming: o.Streaming}
		if i < len(names) {
			v.Name = names[i]
		}
		switch {
		case o.At == 0:
		case !o.Reachable:
			v.Role = "unreachable"
		case o.InRecovery:
			v.Role = "replica"
			if primaryLSN > o.ReplayLSN {
				v.LagBytes = int64(primaryLSN - o.ReplayLSN)
			}
		default:
			v.Role = "primary"
		}
		out = append(out, v)
	}
	return out
}
