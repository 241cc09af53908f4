package history

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// File names inside a trial directory.
const (
	LedgerFile  = "ledger.jsonl"
	MonitorFile = "monitor.jsonl"
	FaultsFile  = "faults.jsonl"
	FinalFile   = "final.json"
	VerdictFile = "verdict.json"
	// PlacementFile records where the fault struck (Placement).
	PlacementFile = "placement.json"
)

// LedgerFormat and LedgerVersion identify the ledger's format (FORMAT.md).
const (
	LedgerFormat  = "pgchaos-ledger"
	LedgerVersion = 1
)

// Ack is the commit evidence a server returned with an acknowledged write.
type Ack struct {
	Node        NodeID
	LSN         LSN
	Timeline    uint32
	ServerClock int64 // Unix microseconds
}

// Ledger streams the fate of every write to DIR/ledger.jsonl. IDs are handed
// out under the same lock that writes the invoke record, so the file is in id
// order and any prefix of it holds a contiguous range of ids.
type Ledger struct {
	app   *Appender
	start time.Time

	mu     sync.Mutex
	nextID int64
	buf    []byte
	nodes  map[Node]NodeID
	ended  bool
}

// NewLedger creates DIR/ledger.jsonl and writes its header. The trial's clock
// starts now; meta.Start is set from it.
func NewLedger(dir string, meta Meta) (*Ledger, error) {
	app, err := NewAppender(filepath.Join(dir, LedgerFile))
	if err != nil {
		return nil, err
	}
	l := &Ledger{app: app, start: time.Now(), nodes: map[Node]NodeID{}}
	meta.Format, meta.Version, meta.Start = LedgerFormat, LedgerVersion, l.start.UTC()
	hdr, err := json.Marshal(struct {
		T string `json:"t"`
		Meta
	}{"header", meta})
	if err != nil {
		return nil, fmt.Errorf("encoding ledger header: %w", err)
	}
	if err := app.Append(append(hdr, '\n')); err != nil {
		_ = app.Close()
		return nil, err
	}
	return l, nil
}

// Start returns the trial's time origin.
func (l *Ledger) Start() time.Time { return l.start }

// Since returns the offset of now from the trial's start (monotonic).
func (l *Ledger) Since() time.Duration { return time.Since(l.start) }

// Node returns the id of a server, recording it the first time it is seen.
func (l *Ledger) Node(n Node) (NodeID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id, ok := l.nodes[n]; ok {
		return id, nil
	}
	if len(l.nodes) >= int(NoNode) {
		return NoNode, fmt.Errorf("recording node %s: too many nodes", n.Server)
	}
	id := NodeID(len(l.nodes))
	rec, err := json.Marshal(struct {
		T  string `json:"t"`
		ID NodeID `json:"node"`
		Node
	}{"node", id, n})
	if err != nil {
		return NoNode, fmt.Errorf("encoding node %s: %w", n.Server, err)
	}
	if err := l.app.Append(append(rec, '\n')); err != nil {
		return NoNode, err
	}
	l.nodes[n] = id
	return id, nil
}

// Begin allocates the next write id for client and records its invocation.
// The record is written before the write is sent, so a write that reached the
// server always has a ledger entry.
func (l *Ledger) Begin(client uint32) (int64, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID++
	id := l.nextID
	at := time.Since(l.start)
	b := l.buf[:0]
	b = append(b, `{"t":"inv","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"c":`...)
	b = strconv.AppendUint(b, uint64(client), 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, int64(at), 10)
	b = append(b, "}\n"...)
	l.buf = b
	if err := l.app.Append(b); err != nil {
		return 0, 0, err
	}
	return id, at, nil
}

// Acked records that write id was acknowledged, with its commit evidence.
func (l *Ledger) Acked(id int64, ack Ack) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := time.Since(l.start)
	b := l.buf[:0]
	b = append(b, `{"t":"ok","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, int64(at), 10)
	b = append(b, `,"n":`...)
	b = strconv.AppendUint(b, uint64(ack.Node), 10)
	b = append(b, `,"lsn":"`...)
	b = ack.LSN.AppendText(b)
	b = append(b, `","tl":`...)
	b = strconv.AppendUint(b, uint64(ack.Timeline), 10)
	b = append(b, `,"clk":`...)
	b = strconv.AppendInt(b, ack.ServerClock, 10)
	b = append(b, "}\n"...)
	l.buf = b
	return at, l.app.Append(b)
}

// Finished records that write id failed (Fail) or went unanswered (Unknown).
func (l *Ledger) Finished(id int64, o Outcome, cause error) (time.Duration, error) {
	if o != Fail && o != Unknown {
		return 0, fmt.Errorf("recording write %d: outcome %s needs Acked", id, o)
	}
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	q, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("encoding error of write %d: %w", id, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	at := time.Since(l.start)
	b := l.buf[:0]
	if o == Fail {
		b = append(b, `{"t":"fail","id":`...)
	} else {
		b = append(b, `{"t":"unk","id":`...)
	}
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, int64(at), 10)
	b = append(b, `,"err":`...)
	b = append(b, q...)
	b = append(b, "}\n"...)
	l.buf = b
	return at, l.app.Append(b)
}

// Close writes the end record and closes the file. A ledger without an end
// record is read as truncated.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if !l.ended {
		l.ended = true
		b := append(l.buf[:0], `{"t":"end","at":`...)
		b = strconv.AppendInt(b, int64(time.Since(l.start)), 10)
		b = append(b, "}\n"...)
		if err := l.app.Append(b); err != nil {
			l.mu.Unlock()
			_ = l.app.Close()
			return err
		}
	}
	l.mu.Unlock()
	return l.app.Close()
}
