package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ObservationLog streams the monitor's observations to DIR/monitor.jsonl.
type ObservationLog struct {
	app   *Appender
	start time.Time
	mu    sync.Mutex
}

// NewObservationLog creates DIR/monitor.jsonl, listing the instances observed.
// start is the trial's time origin (Ledger.Start).
func NewObservationLog(dir string, start time.Time, instances []Instance) (*ObservationLog, error) {
	app, err := NewAppender(filepath.Join(dir, MonitorFile))
	if err != nil {
		return nil, err
	}
	for i, in := range instances {
		rec, err := json.Marshal(struct {
			T string `json:"t"`
			I int    `json:"i"`
			Instance
		}{"inst", i, in})
		if err != nil {
			_ = app.Close()
			return nil, fmt.Errorf("encoding instance %s: %w", in.Name, err)
		}
		if err := app.Append(append(rec, '\n')); err != nil {
			_ = app.Close()
			return nil, err
		}
	}
	return &ObservationLog{app: app, start: start}, nil
}

// obsRecord is the on-disk form of an Observation.
type obsRecord struct {
	T         string `json:"t"`
	I         int    `json:"i"`
	At        int64  `json:"at"`
	Up        bool   `json:"up"`
	Rec       bool   `json:"rec,omitempty"`
	TL        uint32 `json:"tl,omitempty"`
	W         string `json:"w,omitempty"`
	Rcv       string `json:"rcv,omitempty"`
	Rpl       string `json:"rpl,omitempty"`
	Streaming bool   `json:"str,omitempty"`
	Err       string `json:"err,omitempty"`
	// Ident is the server's identity (see Observation.Ident), Src the
	// address its WAL receiver streams from.
	Ident string `json:"ident,omitempty"`
	Src   string `json:"src,omitempty"`
}

func lsnText(l LSN) string {
	if l == 0 {
		return ""
	}
	return l.String()
}

// Record appends one observation; errMsg is set when the instance was
// unreachable.
func (o *ObservationLog) Record(ob Observation, errMsg string) error {
	return o.RecordText(ob, ObsText{Err: errMsg})
}

// ObsText is the text an observation carries besides its numbers.
type ObsText struct {
	// Err says why the instance was unreachable.
	Err string
	// Ident is the server's identity, "sysid@started" (see Node.Identity).
	Ident string
	// Src is the address a replica's WAL receiver streams from.
	Src string
}

// RecordText appends one observation with its text.
func (o *ObservationLog) RecordText(ob Observation, txt ObsText) error {
	rec, err := json.Marshal(obsRecord{
		T: "obs", I: int(ob.Instance), At: int64(ob.At), Up: ob.Reachable,
		Rec: ob.InRecovery, TL: ob.Timeline, W: lsnText(ob.WriteLSN),
		Rcv: lsnText(ob.ReceiveLSN), Rpl: lsnText(ob.ReplayLSN),
		Streaming: ob.Streaming, Err: txt.Err, Ident: txt.Ident, Src: txt.Src,
	})
	if err != nil {
		return fmt.Errorf("encoding observation: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.app.Append(append(rec, '\n'))
}

// Close flushes and closes the log.
func (o *ObservationLog) Close() error { return o.app.Close() }

// FaultLog streams fault windows and events to DIR/faults.jsonl. The
// injection is written before the fault is applied, its recovery after it is
// reverted, so a crash leaves the fault open in the record.
type FaultLog struct {
	app   *Appender
	start time.Time
}

// NewFaultLog creates DIR/faults.jsonl. start is the trial's time origin.
func NewFaultLog(dir string, start time.Time) (*FaultLog, error) {
	app, err := NewAppender(filepath.Join(dir, FaultsFile))
	if err != nil {
		return nil, err
	}
	return &FaultLog{app: app, start: start}, nil
}

type faultRecord struct {
	T      string `json:"t"`
	At     int64  `json:"at"`
	Name   string `json:"name,omitempty"`
	Target string `json:"target,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (f *FaultLog) append(r faultRecord) (time.Duration, error) {
	at := time.Since(f.start)
	r.At = int64(at)
	rec, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encoding fault record %s: %w", r.Name, err)
	}
	return at, f.app.Append(append(rec, '\n'))
}

// Injected records that the named fault is being applied now.
func (f *FaultLog) Injected(name, target, detail string) (time.Duration, error) {
	return f.append(faultRecord{T: "inject", Name: name, Target: target, Detail: detail})
}

// Recovered records that the named fault has been reverted now.
func (f *FaultLog) Recovered(name string) (time.Duration, error) {
	return f.append(faultRecord{T: "recover", Name: name})
}

// Event records a named moment of the trial.
func (f *FaultLog) Event(kind, detail string) (time.Duration, error) {
	return f.append(faultRecord{T: "event", Kind: kind, Detail: detail})
}

// Close flushes and closes the log.
func (f *FaultLog) Close() error { return f.app.Close() }

// WriteFinal writes DIR/final.json atomically.
func WriteFinal(dir string, fs *FinalState) error {
	return writeJSONAtomic(filepath.Join(dir, FinalFile), fs)
}

// WriteReport writes DIR/verdict.json atomically.
func WriteReport(dir string, r Report) error {
	r.Schema = ReportSchema
	return writeJSONAtomic(filepath.Join(dir, VerdictFile), r)
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s: %w", tmp, err)
	}
	return nil
}

// WritePlacement writes DIR/placement.json atomically.
func WritePlacement(dir string, p Placement) error {
	return writeJSONAtomic(filepath.Join(dir, PlacementFile), p)
}

// ReadPlacement reads DIR/placement.json; nil without error when the trial
// has none (recorded before placements were, or not by a faulted trial).
func ReadPlacement(dir string) (*Placement, error) {
	path := filepath.Join(dir, PlacementFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var p Placement
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return &p, nil
}
