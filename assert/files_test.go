package assert

// Writing a generated trial as the files of FORMAT.md, so that a sample of
// the generated histories also goes through history.Load.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// writeTrialFiles writes ledger.jsonl, monitor.jsonl, faults.jsonl and
// final.json for t into dir. A truncated ledger gets no end record, and,
// when partial, half a record after its last line.
func writeTrialFiles(dir string, t *history.Trial, partial bool) error {
	var b strings.Builder
	line := func(v any) {
		j, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	meta := t.Meta
	meta.Format, meta.Version = history.LedgerFormat, history.LedgerVersion
	meta.Start = time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	line(struct {
		T string `json:"t"`
		history.Meta
	}{"header", meta})
	for i, n := range t.Nodes {
		line(map[string]any{"t": "node", "node": i, "server": n.Server, "instance": n.Instance, "sysid": n.SystemID, "started": n.Started})
	}
	type rec struct {
		at    time.Duration
		order int // invocations first among equal times
		id    int64
		v     map[string]any
	}
	var recs []rec
	for _, op := range t.Ops {
		recs = append(recs, rec{op.Invoke, 0, op.ID, map[string]any{"t": "inv", "id": op.ID, "c": op.Client, "at": int64(op.Invoke)}})
		switch op.Outcome {
		case history.OK:
			recs = append(recs, rec{op.Return, 1, op.ID, map[string]any{"t": "ok", "id": op.ID, "at": int64(op.Return), "n": int(op.Node),
				"lsn": op.LSN.String(), "tl": op.Timeline, "clk": op.ServerClock}})
		case history.Fail:
			recs = append(recs, rec{op.Return, 1, op.ID, map[string]any{"t": "fail", "id": op.ID, "at": int64(op.Return), "err": t.Error(op.Err)}})
		case history.Unknown:
			recs = append(recs, rec{op.Return, 1, op.ID, map[string]any{"t": "unk", "id": op.ID, "at": int64(op.Return), "err": t.Error(op.Err)}})
		}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].at != recs[j].at {
			return recs[i].at < recs[j].at
		}
		if recs[i].order != recs[j].order {
			return recs[i].order < recs[j].order
		}
		return recs[i].id < recs[j].id
	})
	for _, r := range recs {
		line(r.v)
	}
	if !t.Truncated {
		line(map[string]any{"t": "end", "at": int64(t.End)})
	} else if partial {
		fmt.Fprintf(&b, `{"t":"inv","id":%d,"c":0,"a`, len(t.Ops)+1)
	}
	if err := os.WriteFile(filepath.Join(dir, history.LedgerFile), []byte(b.String()), 0o644); err != nil {
		return err
	}

	if len(t.Instances) > 0 || len(t.Observations) > 0 {
		b.Reset()
		for i, in := range t.Instances {
			line(map[string]any{"t": "inst", "i": i, "name": in.Name, "target": in.Target})
		}
		for _, o := range t.Observations {
			r := map[string]any{"t": "obs", "i": int(o.Instance), "at": int64(o.At), "up": o.Reachable}
			if o.InRecovery {
				r["rec"] = true
			}
			if o.Timeline != 0 {
				r["tl"] = o.Timeline
			}
			for k, l := range map[string]history.LSN{"w": o.WriteLSN, "rcv": o.ReceiveLSN, "rpl": o.ReplayLSN} {
				if l != 0 {
					r[k] = l.String()
				}
			}
			if o.Streaming {
				r["str"] = true
			}
			if e := t.Error(o.Err); e != "" {
				r["err"] = e
			}
			if o.Ident != 0 {
				r["ident"] = t.Error(o.Ident)
			}
			if o.Upstream != 0 {
				r["src"] = t.Error(o.Upstream)
			}
			line(r)
		}
		if err := os.WriteFile(filepath.Join(dir, history.MonitorFile), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}

	if len(t.Faults) > 0 || len(t.Events) > 0 {
		b.Reset()
		type frec struct {
			at time.Duration
			v  map[string]any
		}
		var fr []frec
		for _, f := range t.Faults {
			fr = append(fr, frec{f.Injected, map[string]any{"t": "inject", "at": int64(f.Injected), "name": f.Name, "target": f.Target, "detail": f.Detail}})
			if f.Recovered != 0 {
				fr = append(fr, frec{f.Recovered, map[string]any{"t": "recover", "at": int64(f.Recovered), "name": f.Name}})
			}
		}
		for _, e := range t.Events {
			fr = append(fr, frec{e.At, map[string]any{"t": "event", "at": int64(e.At), "kind": e.Kind, "detail": e.Detail}})
		}
		sort.SliceStable(fr, func(i, j int) bool { return fr[i].at < fr[j].at })
		for _, r := range fr {
			line(r.v)
		}
		if err := os.WriteFile(filepath.Join(dir, history.FaultsFile), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if t.Final != nil {
		return history.WriteFinal(dir, t.Final)
	}
	return nil
}
