package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrNoLedger is returned by Load for a directory without a ledger.
var ErrNoLedger = errors.New("no ledger")

// Load reads a trial directory: the ledger (required), and the monitor's
// observations, fault windows and final state when present.
func Load(dir string) (*Trial, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading trial %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("reading trial %s: not a directory", dir)
	}
	t := &Trial{Errors: []string{""}}
	errIdx := map[string]uint32{"": 0}
	intern := func(s string) uint32 {
		if i, ok := errIdx[s]; ok {
			return i
		}
		i := uint32(len(t.Errors))
		t.Errors = append(t.Errors, s)
		errIdx[s] = i
		return i
	}
	lp := filepath.Join(dir, LedgerFile)
	f, err := os.Open(lp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading trial %s: %w (%s missing)", dir, ErrNoLedger, LedgerFile)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", lp, err)
	}
	defer f.Close()
	// The final state is decoded alongside the ledger (on another core when
	// there is one); its error, if any, still comes after the ledger's,
	// the monitor's and the faults'.
	type finalResult struct {
		fs  *FinalState
		err error
	}
	final := make(chan finalResult, 1)
	go func() {
		fs, err := loadFinal(filepath.Join(dir, FinalFile))
		final <- finalResult{fs, err}
	}()
	// Trial.Ops sized once: growing it by appends would hold the old and
	// the new array at once (up to 2.25 times the ledger's 56 bytes a write).
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if n := ledgerCapacity(f, st.Size()); n > 0 {
			t.Ops = make([]Op, 0, n)
		}
	}
	if err := readLedger(f, lp, t, intern); err != nil {
		return nil, err
	}
	if err := loadMonitor(filepath.Join(dir, MonitorFile), t, intern); err != nil {
		return nil, err
	}
	if err := loadFaults(filepath.Join(dir, FaultsFile), t); err != nil {
		return nil, err
	}
	r := <-final
	if r.err != nil {
		return nil, r.err
	}
	t.Final = r.fs
	return t, nil
}

// loadFinal reads DIR/final.json: nil when it is absent.
func loadFinal(fp string) (*FinalState, error) {
	b, err := os.ReadFile(fp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", fp, err)
	}
	var fs FinalState
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("reading %s: %w", fp, err)
	}
	return &fs, nil
}

// ledgerRecord is the union of every ledger line.
type ledgerRecord struct {
	T   string `json:"t"`
	ID  int64  `json:"id"`
	C   uint32 `json:"c"`
	At  int64  `json:"at"`
	N   *int   `json:"n"`
	LSN string `json:"lsn"`
	TL  uint32 `json:"tl"`
	Clk int64  `json:"clk"`
	Err string `json:"err"`
	// node lines
	Node     *int   `json:"node"`
	Server   string `json:"server"`
	Instance string `json:"instance"`
	SysID    string `json:"sysid"`
	Started  string `json:"started"`
}

// lines calls fn with each complete line of r. A last line without its
// newline is reported through partial: it is what a killed writer leaves.
func lines(r io.Reader, fn func(no int, line []byte) error) (partial []byte, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	for no := 1; ; no++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: assemble it.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err == io.EOF {
			if len(bytes.TrimSpace(line)) > 0 {
				return line, nil
			}
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := fn(no, line); err != nil {
			return nil, err
		}
	}
}

func readLedger(r io.Reader, path string, t *Trial, intern func(string) uint32) error {
	return readLedgerWith(r, path, t, intern, ledgerChunkSize)
}

// readLedgerWith reads a ledger. With chunk > 0 the hot records are read by
// the hand-written parser (ledgerparse.go), in chunks of about chunk bytes;
// with 0 every line goes to encoding/json. Both give the same trial and
// the same errors.
func readLedgerWith(r io.Reader, path string, t *Trial, intern func(string) uint32, chunk int) error {
	sawHeader, sawEnd := false, false
	var last time.Duration
	lineNo := 0
	// hot applies an inv, ok, fail or unk record, from either parser.
	hot := func(no int, rec *hotRecord) error {
		if rec.at > int64(last) {
			last = time.Duration(rec.at)
		}
		if rec.kind == recInv {
			if rec.id != int64(len(t.Ops))+1 {
				return fmt.Errorf("%s line %d: write id %d out of sequence (expected %d)", path, no, rec.id, len(t.Ops)+1)
			}
			t.Ops = append(t.Ops, Op{ID: rec.id, Client: rec.c, Invoke: time.Duration(rec.at), Node: NoNode, Outcome: Pending})
			return nil
		}
		if rec.id < 1 || rec.id > int64(len(t.Ops)) {
			return fmt.Errorf("%s line %d: outcome for write %d that was never invoked", path, no, rec.id)
		}
		op := &t.Ops[rec.id-1]
		if op.Outcome != Pending {
			return fmt.Errorf("%s line %d: second outcome for write %d", path, no, rec.id)
		}
		op.Return = time.Duration(rec.at)
		switch rec.kind {
		case recOK:
			if !rec.hasN || rec.n < 0 || rec.n >= len(t.Nodes) {
				return fmt.Errorf("%s line %d: write %d acknowledged by an unknown node", path, no, rec.id)
			}
			lsn := rec.lsn
			if !rec.lsnDone {
				var err error
				if lsn, err = ParseLSN(rec.lsnText); err != nil {
					return fmt.Errorf("%s line %d: %w", path, no, err)
				}
			}
			op.Outcome, op.Node, op.LSN, op.Timeline, op.ServerClock = OK, NodeID(rec.n), lsn, rec.tl, rec.clk
		case recFail:
			op.Outcome, op.Err = Fail, intern(rec.err)
		default:
			op.Outcome, op.Err = Unknown, intern(rec.err)
		}
		return nil
	}
	// record reads one line with encoding/json.
	record := func(no int, line []byte) error {
		lineNo = no
		var rec ledgerRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("%s line %d: not a ledger record: %w", path, no, err)
		}
		if !sawHeader {
			if rec.T != "header" {
				return fmt.Errorf("%s line %d: the ledger must start with its header, found %q", path, no, rec.T)
			}
			if err := json.Unmarshal(line, &t.Meta); err != nil {
				return fmt.Errorf("%s line %d: bad header: %w", path, no, err)
			}
			if t.Meta.Format != LedgerFormat {
				return fmt.Errorf("%s: format %q is not %q", path, t.Meta.Format, LedgerFormat)
			}
			if t.Meta.Version < 1 || t.Meta.Version > LedgerVersion {
				return fmt.Errorf("%s: ledger version %d is not supported (this pgchaos reads 1 to %d)", path, t.Meta.Version, LedgerVersion)
			}
			sawHeader = true
			return nil
		}
		if sawEnd {
			return fmt.Errorf("%s line %d: record after the end record", path, no)
		}
		var kind recKind
		switch rec.T {
		case "node":
			if rec.At > int64(last) {
				last = time.Duration(rec.At)
			}
			if rec.Node == nil || *rec.Node != len(t.Nodes) {
				return fmt.Errorf("%s line %d: node records must be numbered 0, 1, ... in order", path, no)
			}
			t.Nodes = append(t.Nodes, Node{Server: rec.Server, Instance: rec.Instance, SystemID: rec.SysID, Started: rec.Started})
			return nil
		case "end":
			if rec.At > int64(last) {
				last = time.Duration(rec.At)
			}
			sawEnd = true
			t.End = time.Duration(rec.At)
			return nil
		case "inv":
			kind = recInv
		case "ok":
			kind = recOK
		case "fail":
			kind = recFail
		case "unk":
			kind = recUnk
		default:
			return fmt.Errorf("%s line %d: unknown record type %q", path, no, rec.T)
		}
		h := hotRecord{kind: kind, id: rec.ID, at: rec.At, clk: rec.Clk, c: rec.C, tl: rec.TL, lsnText: rec.LSN, err: rec.Err}
		if rec.N != nil {
			h.n, h.hasN = *rec.N, true
		}
		return hot(no, &h)
	}
	var partial []byte
	var err error
	if chunk > 0 {
		// Lines are parsed by workers, applied here in order; a line the
		// hand-written parser was not sure of, or one that comes before the
		// header or after the end, goes to record.
		partial, err = parseLines(r, chunk, func(no int, line []byte, rec *hotRecord, parsed bool) error {
			if parsed && sawHeader && !sawEnd {
				lineNo = no
				return hot(no, rec)
			}
			return record(no, line)
		})
	} else {
		partial, err = lines(r, record)
	}
	if err != nil {
		return err
	}
	// A last line without its newline is complete when it is a whole JSON
	// record (an object cut short is never valid JSON): e.g. an end record
	// whose newline the crash cut off.
	if len(partial) > 0 && sawHeader && json.Valid(bytes.TrimSpace(partial)) {
		if err := record(lineNo+1, partial); err != nil {
			return err
		}
		partial = nil
	}
	if !sawHeader {
		if len(partial) > 0 {
			return fmt.Errorf("%s: truncated inside its header", path)
		}
		return fmt.Errorf("%s: empty ledger (no header)", path)
	}
	// A partial last line is what a killed writer leaves; everything before it
	// stands.
	t.Truncated = !sawEnd
	if !sawEnd {
		t.End = last
	}
	return nil
}

func loadMonitor(path string, t *Trial, intern func(string) uint32) error {
	f, err := openOptional(path)
	if f == nil {
		return err
	}
	defer f.Close()
	_, err = lines(f, func(no int, line []byte) error {
		var head struct {
			T string `json:"t"`
			I int    `json:"i"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return fmt.Errorf("%s line %d: %w", path, no, err)
		}
		switch head.T {
		case "inst":
			var in Instance
			if err := json.Unmarshal(line, &in); err != nil {
				return fmt.Errorf("%s line %d: %w", path, no, err)
			}
			if head.I != len(t.Instances) {
				return fmt.Errorf("%s line %d: instances must be numbered 0, 1, ... in order", path, no)
			}
			t.Instances = append(t.Instances, in)
		case "obs":
			var r obsRecord
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("%s line %d: %w", path, no, err)
			}
			if r.I < 0 || r.I >= len(t.Instances) {
				return fmt.Errorf("%s line %d: observation of unknown instance %d", path, no, r.I)
			}
			ob := Observation{At: time.Duration(r.At), Instance: InstanceID(r.I), Reachable: r.Up,
				InRecovery: r.Rec, Timeline: r.TL, Streaming: r.Streaming, Err: intern(r.Err)}
			if r.Ident != "" {
				ob.Ident = intern(r.Ident)
			}
			if r.Src != "" {
				ob.Upstream = intern(r.Src)
			}
			for _, p := range []struct {
				s string
				l *LSN
			}{{r.W, &ob.WriteLSN}, {r.Rcv, &ob.ReceiveLSN}, {r.Rpl, &ob.ReplayLSN}} {
				if p.s == "" {
					continue
				}
				v, err := ParseLSN(p.s)
				if err != nil {
					return fmt.Errorf("%s line %d: %w", path, no, err)
				}
				*p.l = v
			}
			t.Observations = append(t.Observations, ob)
		default:
			return fmt.Errorf("%s line %d: unknown record type %q", path, no, head.T)
		}
		return nil
	})
	return err
}

func loadFaults(path string, t *Trial) error {
	f, err := openOptional(path)
	if f == nil {
		return err
	}
	defer f.Close()
	open := map[string]int{}
	_, err = lines(f, func(no int, line []byte) error {
		var r faultRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("%s line %d: %w", path, no, err)
		}
		switch r.T {
		case "inject":
			if _, dup := open[r.Name]; dup {
				return fmt.Errorf("%s line %d: fault %q injected twice without recovery", path, no, r.Name)
			}
			open[r.Name] = len(t.Faults)
			t.Faults = append(t.Faults, FaultWindow{Name: r.Name, Target: r.Target, Injected: time.Duration(r.At), Detail: r.Detail})
		case "recover":
			i, ok := open[r.Name]
			if !ok {
				return fmt.Errorf("%s line %d: recovery of fault %q that was not injected", path, no, r.Name)
			}
			delete(open, r.Name)
			t.Faults[i].Recovered = time.Duration(r.At)
		case "event":
			t.Events = append(t.Events, Event{At: time.Duration(r.At), Kind: r.Kind, Detail: r.Detail})
		default:
			return fmt.Errorf("%s line %d: unknown record type %q", path, no, r.T)
		}
		return nil
	})
	return err
}

// openOptional opens a file a trial may lack: (nil, nil) when it is absent.
func openOptional(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return f, nil
}
