package gameday

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/strictyaml"
)

// PlanFormat is the "format" every game-day plan declares.
const PlanFormat = "pgchaos-gameday"

// MaxDuration bounds a game day: every loop stops by itself.
const MaxDuration = 4 * time.Hour

// Plan is a game day: faults at times, or when the person running it
// presses a key, and notes, over one continuous workload.
type Plan struct {
	Format      string `json:"format"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Steps run in order.
	Steps []Step `json:"steps"`
	// CoolDown is the workload's time after the last step (default 30s).
	CoolDown Duration `json:"cool_down,omitempty"`
	// ReadyTimeout bounds the wait for the cluster to be ready after each
	// fault (default 3m).
	ReadyTimeout Duration `json:"ready_timeout,omitempty"`
}

// Step is one moment of the game day: at a time after the start (At), or
// when the person running it says so (WaitKey); then a fault held for Hold
// (default 10s), and/or a note written on the timeline.
type Step struct {
	At      Duration `json:"at,omitempty"`
	WaitKey bool     `json:"wait_key,omitempty"`
	Fault   string   `json:"fault,omitempty"`
	Hold    Duration `json:"hold,omitempty"`
	Note    string   `json:"note,omitempty"`
}

// Duration is written as "30s".
type Duration = strictyaml.Duration

// LoadPlan reads and validates a plan file.
func LoadPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", path, err)
	}
	p, err := ParsePlan(data)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

// ParsePlan decodes and validates a plan; unknown fields and faults are
// errors.
func ParsePlan(data []byte) (*Plan, error) {
	var p Plan
	if err := strictyaml.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate says the first thing wrong with p, and fills the defaults.
func (p *Plan) Validate() error {
	if p.Format != PlanFormat {
		return fmt.Errorf("format %q: want %q", p.Format, PlanFormat)
	}
	if p.Name == "" {
		return errors.New("name is required")
	}
	if len(p.Steps) == 0 {
		return errors.New("steps: none")
	}
	if p.CoolDown == 0 {
		p.CoolDown = Duration(30 * time.Second)
	}
	if p.ReadyTimeout == 0 {
		p.ReadyTimeout = Duration(3 * time.Minute)
	}
	var last time.Duration
	for i := range p.Steps {
		s := &p.Steps[i]
		where := fmt.Sprintf("steps[%d]", i)
		if s.Fault == "" && s.Note == "" {
			return fmt.Errorf("%s: a fault or a note, at least", where)
		}
		if s.WaitKey && s.At != 0 {
			return fmt.Errorf("%s: at and wait_key are exclusive", where)
		}
		if !s.WaitKey {
			at := time.Duration(s.At)
			if at < last {
				return fmt.Errorf("%s: at %s is before the previous step's %s", where, at, last)
			}
			last = at
		}
		if s.Fault != "" {
			if _, err := faults.ByName(s.Fault); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if s.Hold == 0 {
				s.Hold = Duration(10 * time.Second)
			}
		} else if s.Hold != 0 {
			return fmt.Errorf("%s: hold without a fault", where)
		}
		if time.Duration(s.Hold) > 30*time.Minute {
			return fmt.Errorf("%s: hold %s is over 30m", where, time.Duration(s.Hold))
		}
	}
	if total := p.Bound(); total > MaxDuration {
		return fmt.Errorf("the plan may last %s, over the %s a game day is bounded by", total, MaxDuration)
	}
	return nil
}

// Faults lists the plan's faults, each once, in order.
func (p *Plan) Faults() []faults.Fault {
	var out []faults.Fault
	seen := map[string]bool{}
	for _, s := range p.Steps {
		if s.Fault != "" && !seen[s.Fault] {
			seen[s.Fault] = true
			f, _ := faults.ByName(s.Fault)
			out = append(out, f)
		}
	}
	return out
}

// Bound is the longest the plan can take without waiting for keys: the
// last timed step, every hold and ready timeout, and the cool-down.
func (p *Plan) Bound() time.Duration {
	var d time.Duration
	for _, s := range p.Steps {
		if !s.WaitKey {
			d = max(d, time.Duration(s.At))
		}
		if s.Fault != "" {
			d += time.Duration(s.Hold) + time.Duration(p.ReadyTimeout)
		}
	}
	return d + time.Duration(p.CoolDown)
}

// Print writes the plan for people: what will happen, when, and what
// each fault touches.
func (p *Plan) Print(w io.Writer) {
	fmt.Fprintf(w, "game day %q: %d steps, at most %s without key waits\n", p.Name, len(p.Steps), p.Bound().Round(time.Second))
	if p.Description != "" {
		fmt.Fprintf(w, "  %s\n", p.Description)
	}
	for i, s := range p.Steps {
		when := "at " + time.Duration(s.At).String()
		if s.WaitKey {
			when = "when you press c"
		}
		var what []string
		if s.Fault != "" {
			f, _ := faults.ByName(s.Fault)
			in := faults.InfoOf(f)
			what = append(what, fmt.Sprintf("fault %s for %s (%s; scope %s)", s.Fault, time.Duration(s.Hold), in.Summary, in.Scope))
		}
		if s.Note != "" {
			what = append(what, fmt.Sprintf("note %q", s.Note))
		}
		fmt.Fprintf(w, "  %d. %s: %s\n", i+1, when, strings.Join(what, "; "))
	}
	fmt.Fprintf(w, "  then %s of cool-down; a is abort (every fault reverted), n adds a note\n", time.Duration(p.CoolDown))
}
