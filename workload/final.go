package workload

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgchaos/pgchaos/history"
)

// FinalTarget is one instance to read the final state from.
type FinalTarget struct {
	Name string
	DSN  string
}

// ReadFinal reads, from every target, whether it is a primary, its timeline
// and timeline history, and the ids of run present in table. An unreachable
// instance is recorded as such, not returned as an error; a malformed DSN is.
func ReadFinal(ctx context.Context, targets []FinalTarget, table string, run int64, timeout time.Duration) (*history.FinalState, error) {
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("table name %q: use lower-case letters, digits and _", table)
	}
	fs := &history.FinalState{}
	for _, t := range targets {
		cc, err := ParseDSN(t.DSN, 2*time.Second)
		if err != nil {
			return nil, fmt.Errorf("final state of %s: %w", t.Name, err)
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		st := readInstance(rctx, t.Name, cc, table, run)
		cancel()
		fs.Instances = append(fs.Instances, st)
	}
	return fs, nil
}

// readInstance reads one instance. A replica's timeline is its WAL
// receiver's; without a running receiver it is the newer of its last
// restartpoint's and its minimum recovery point's (the checkpoint alone can
// lag behind a replica that replayed into a new timeline).
func readInstance(ctx context.Context, name string, cc *pgx.ConnConfig, table string, run int64) history.InstanceState {
	st := history.InstanceState{Name: name}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		st.Error = explainConnect(cc, err).Error()
		return st
	}
	defer conn.Close(context.WithoutCancel(ctx))
	st.Reachable = true
	if n, err := Identify(ctx, conn); err == nil {
		st.Server, st.SystemID, st.Started = n.Server, n.SystemID, n.Started
		if st.Name == "" {
			st.Name = n.Instance
		}
	}
	var inRecovery bool
	var lsnText string
	var tl int64
	err = conn.QueryRow(ctx, `SELECT pg_is_in_recovery(),
		CASE WHEN pg_is_in_recovery() THEN COALESCE(pg_last_wal_replay_lsn(), '0/0')::text ELSE pg_current_wal_lsn()::text END,
		CASE WHEN pg_is_in_recovery()
		     THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver),
		                   GREATEST((SELECT timeline_id FROM pg_control_checkpoint()),
		                            (SELECT min_recovery_end_timeline FROM pg_control_recovery())))
		     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END`).
		Scan(&inRecovery, &lsnText, &tl)
	if err != nil {
		st.Error = fmt.Sprintf("reading role and timeline: %v", err)
		return st
	}
	st.Primary = !inRecovery
	st.Timeline = uint32(tl)
	st.LSN, _ = history.ParseLSN(lsnText)
	if st.Timeline > 1 {
		var content string
		file := fmt.Sprintf("pg_wal/%08X.history", st.Timeline)
		if err := conn.QueryRow(ctx, `SELECT pg_read_file($1)`, file).Scan(&content); err != nil {
			st.HistoryError = fmt.Sprintf("reading %s: %v", file, err)
		} else if h, err := ParseTimelineHistory(content); err != nil {
			st.HistoryError = fmt.Sprintf("reading %s: %v", file, err)
		} else {
			st.History = h
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
		st.Error = fmt.Sprintf("checking table %s: %v", table, err)
		return st
	}
	if !exists {
		st.TableMissing = true
		st.Error = fmt.Sprintf("table %s does not exist", table)
		return st
	}
	rows, err := conn.Query(ctx, `SELECT id FROM `+table+` WHERE run = $1 ORDER BY id`, run)
	if err != nil {
		st.Error = fmt.Sprintf("reading %s: %v", table, err)
		return st
	}
	var rb rangeBuilder
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		rb.add(id)
		return nil
	})
	if err != nil {
		st.Error = fmt.Sprintf("reading %s: %v", table, err)
		return st
	}
	st.Present, st.Duplicates, st.Rows = rb.finish()
	return st
}

// rangeBuilder compresses a sorted stream of ids into ranges and duplicates.
type rangeBuilder struct {
	ranges []history.IDRange
	dups   []history.Duplicate
	rows   int64
}

func (b *rangeBuilder) add(id int64) {
	b.rows++
	if n := len(b.ranges); n > 0 {
		last := &b.ranges[n-1]
		switch {
		case id == last.Last:
			if d := len(b.dups); d > 0 && b.dups[d-1].ID == id {
				b.dups[d-1].Count++
			} else {
				b.dups = append(b.dups, history.Duplicate{ID: id, Count: 2})
			}
			return
		case id == last.Last+1:
			last.Last = id
			return
		}
	}
	b.ranges = append(b.ranges, history.IDRange{First: id, Last: id})
}

func (b *rangeBuilder) finish() ([]history.IDRange, []history.Duplicate, int64) {
	return b.ranges, b.dups, b.rows
}

// ParseTimelineHistory parses a PostgreSQL timeline history file: lines of
// "parentTLI<TAB>switchpoint<TAB>reason"; comments and blank lines skipped.
func ParseTimelineHistory(content string) ([]history.TimelineSwitch, error) {
	var out []history.TimelineSwitch
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("timeline history line %q: want parentTLI and switchpoint", line)
		}
		tli, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("timeline history line %q: %w", line, err)
		}
		lsn, err := history.ParseLSN(f[1])
		if err != nil {
			return nil, fmt.Errorf("timeline history line %q: %w", line, err)
		}
		out = append(out, history.TimelineSwitch{TLI: uint32(tli), SwitchLSN: lsn})
	}
	return out, sc.Err()
}
