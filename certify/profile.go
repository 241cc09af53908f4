package certify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/strictyaml"
)

// ProfileFormat is the "format" every profile file declares.
const ProfileFormat = "pgchaos-profile"

// Profile is a certification profile: what to run per replication mode,
// how often, and the requirements a certificate checks, with their
// budgets. It is a versioned file (profiles/*.yaml); unknown fields are
// errors.
type Profile struct {
	Format string `json:"format"`
	// Name and Version identify the profile in certificates.
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Description string `json:"description,omitempty"`
	// Modes maps "async" and "sync" to what runs on a cluster of that
	// replication mode; at least one.
	Modes map[string]ModePlan `json:"modes"`
	// Schedule and budgets of every trial ("" keeps pgchaos's default).
	WarmUp            Duration `json:"warm_up,omitempty"`
	Hold              Duration `json:"hold,omitempty"`
	CoolDown          Duration `json:"cool_down,omitempty"`
	RTOBudget         Duration `json:"rto_budget,omitempty"`
	ReplicationBudget Duration `json:"replication_budget,omitempty"`
	// Clients and Rate of the workload (0: pgchaos's defaults, 4 and 200/s).
	Clients int     `json:"clients,omitempty"`
	Rate    float64 `json:"rate,omitempty"`
	// Requirements are checked over every trial of the modes they name.
	Requirements []Requirement `json:"requirements"`
}

// ModePlan is what runs on one replication mode's cluster.
type ModePlan struct {
	// Scenarios are fault names (pgchaos faults).
	Scenarios []string `json:"scenarios"`
	// Repeat is the number of trials per scenario (default 1).
	Repeat int `json:"repeat,omitempty"`
}

// Requirement is one line of a certificate. It holds over the trials of
// its modes when either every trial's verdict of Check is pass (Verdict),
// or the statistic Stat of the figure Figure of Check over those trials is
// at most AtMost.
type Requirement struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	// Check is a verdict name (lost-acked-writes, unavailability, ...).
	Check string `json:"check"`
	// Modes limits the requirement to these replication modes (default:
	// every mode of the profile).
	Modes []string `json:"modes,omitempty"`
	// Verdict: "pass" (every trial's verdict must pass). Exclusive with Figure.
	Verdict string `json:"verdict,omitempty"`
	// Figure names a numeric figure of the verdict (max_s, lost, ...),
	// Stat how the trials' values are combined (max, p50, p95) and AtMost
	// the bound, in the figure's unit (seconds for *_s figures).
	Figure string   `json:"figure,omitempty"`
	Stat   string   `json:"stat,omitempty"`
	AtMost *float64 `json:"at_most,omitempty"`
}

// Duration is written as "30s".
type Duration = strictyaml.Duration

// Stats a figure requirement may use.
var stats = []string{"max", "p50", "p95"}

// checks are the verdicts a requirement may name.
var checks = []string{history.CheckLostAckedWrites, history.CheckUnavailability, history.CheckSplitBrain,
	history.CheckWALContinuity, history.CheckReplicationRecovery, history.CheckPhantomWrites, history.CheckExpectations}

// LoadProfile reads and validates a profile file; it returns the profile
// and the SHA-256 of the file's bytes (what a certificate names).
func LoadProfile(path string) (*Profile, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading profile %s: %w", path, err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, "", fmt.Errorf("profile %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	return p, hex.EncodeToString(sum[:]), nil
}

// ParseProfile decodes and validates a profile. Unknown fields, unknown
// faults, checks, modes and stats are errors.
func ParseProfile(data []byte) (*Profile, error) {
	var p Profile
	if err := strictyaml.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate says the first thing wrong with p.
func (p *Profile) Validate() error {
	if p.Format != ProfileFormat {
		return fmt.Errorf("format %q: want %q", p.Format, ProfileFormat)
	}
	if p.Name == "" || p.Version < 1 {
		return errors.New("name and version (>= 1) are required")
	}
	if len(p.Modes) == 0 {
		return errors.New("modes: at least one of async, sync")
	}
	for mode, mp := range p.Modes {
		if err := faults.CheckMode(mode); err != nil {
			return fmt.Errorf("modes: %w", err)
		}
		if len(mp.Scenarios) == 0 {
			return fmt.Errorf("modes.%s: no scenarios", mode)
		}
		for _, s := range mp.Scenarios {
			if _, err := faults.ByName(s); err != nil {
				return fmt.Errorf("modes.%s: %w", mode, err)
			}
		}
		if mp.Repeat < 0 || mp.Repeat > 100 {
			return fmt.Errorf("modes.%s: repeat %d: want 1 to 100", mode, mp.Repeat)
		}
	}
	if p.Clients < 0 || p.Rate < 0 {
		return errors.New("clients and rate must not be negative")
	}
	if len(p.Requirements) == 0 {
		return errors.New("requirements: none")
	}
	ids := map[string]bool{}
	for i, r := range p.Requirements {
		where := fmt.Sprintf("requirements[%d] %q", i, r.ID)
		if r.ID == "" || r.Description == "" {
			return fmt.Errorf("requirements[%d]: id and description are required", i)
		}
		if ids[r.ID] {
			return fmt.Errorf("%s: the id is used twice", where)
		}
		ids[r.ID] = true
		if !slices.Contains(checks, r.Check) {
			return fmt.Errorf("%s: unknown check %q (have: %s)", where, r.Check, strings.Join(checks, ", "))
		}
		for _, m := range r.Modes {
			if _, ok := p.Modes[m]; !ok {
				return fmt.Errorf("%s: mode %q is not run by this profile", where, m)
			}
		}
		switch {
		case r.Verdict != "" && r.Figure != "":
			return fmt.Errorf("%s: verdict and figure are exclusive", where)
		case r.Verdict != "":
			if r.Verdict != string(history.Pass) {
				return fmt.Errorf("%s: verdict %q: want pass", where, r.Verdict)
			}
			if r.Stat != "" || r.AtMost != nil {
				return fmt.Errorf("%s: stat and at_most go with figure, not verdict", where)
			}
		case r.Figure != "":
			if !slices.Contains(stats, r.Stat) {
				return fmt.Errorf("%s: stat %q: want one of %s", where, r.Stat, strings.Join(stats, ", "))
			}
			if r.AtMost == nil || *r.AtMost < 0 {
				return fmt.Errorf("%s: at_most (>= 0) is required with figure", where)
			}
		default:
			return fmt.Errorf("%s: needs verdict: pass, or figure with stat and at_most", where)
		}
	}
	return nil
}

// ModeNames returns the profile's modes, async first.
func (p *Profile) ModeNames() []string {
	var out []string
	for _, m := range []string{faults.Async, faults.Sync} {
		if _, ok := p.Modes[m]; ok {
			out = append(out, m)
		}
	}
	return out
}

// Repeat is the number of trials per scenario of mode.
func (p *Profile) Repeat(mode string) int {
	if r := p.Modes[mode].Repeat; r > 0 {
		return r
	}
	return 1
}

// Trials is the number of trials the profile runs.
func (p *Profile) Trials() int {
	n := 0
	for m, mp := range p.Modes {
		n += len(mp.Scenarios) * p.Repeat(m)
	}
	return n
}
