package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/workload"
)

// Target is one instance to observe.
type Target struct {
	Name string
	DSN  string
}

// Config tunes the monitor.
type Config struct {
	// Interval between two polls of one instance (default 200ms; kept within
	// 100–250 ms).
	Interval time.Duration
	// Timeout bounds one connection attempt and one poll (default 1s).
	Timeout time.Duration
	Logger  *slog.Logger
}

func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = 200 * time.Millisecond
	}
	c.Interval = min(max(c.Interval, 100*time.Millisecond), 250*time.Millisecond)
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Monitor polls a fixed set of instances.
type Monitor struct {
	cfg     Config
	targets []Target
	conf    []*pgx.ConnConfig
	log     *history.ObservationLog
	start   time.Time

	mu     sync.Mutex
	latest []history.Observation
}

// New validates the targets' DSNs. Observations go to log, timed from start
// (the ledger's time origin).
func New(cfg Config, targets []Target, log *history.ObservationLog, start time.Time) (*Monitor, error) {
	cfg.defaults()
	m := &Monitor{cfg: cfg, targets: targets, log: log, start: start, latest: make([]history.Observation, len(targets))}
	for _, t := range targets {
		cc, err := pgx.ParseConfig(t.DSN)
		if err != nil {
			return nil, fmt.Errorf("monitor target %s: not a PostgreSQL connection string: %w", t.Name, err)
		}
		if cc.ConnectTimeout == 0 || cc.ConnectTimeout > cfg.Timeout {
			cc.ConnectTimeout = cfg.Timeout
		}
		m.conf = append(m.conf, cc)
	}
	return m, nil
}

// Instances describes the targets for the observation log's header.
func Instances(targets []Target, redact func(string) string) []history.Instance {
	out := make([]history.Instance, len(targets))
	for i, t := range targets {
		out[i] = history.Instance{Name: t.Name, Target: redact(t.DSN)}
	}
	return out
}

// Latest returns the latest observation of every target.
func (m *Monitor) Latest() []history.Observation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]history.Observation(nil), m.latest...)
}

// Primaries names the instances last seen reachable and not in recovery.
func (m *Monitor) Primaries() []string {
	var out []string
	for i, o := range m.Latest() {
		if o.Reachable && !o.InRecovery && o.At > 0 {
			out = append(out, m.targets[i].Name)
		}
	}
	return out
}

// Run polls every target until ctx is cancelled. It returns the first error
// writing the observation log; unreachable instances are observations, not
// errors.
func (m *Monitor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(m.targets))
	for i := range m.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.poll(ctx, i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

const pollSQL = `SELECT r,
	CASE WHEN r THEN NULL ELSE pg_current_wal_lsn()::text END,
	pg_last_wal_receive_lsn()::text,
	pg_last_wal_replay_lsn()::text,
	CASE WHEN r THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), 0)
	     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
	COALESCE((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false),
	(SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver)
FROM (SELECT pg_is_in_recovery() AS r) s`

func (m *Monitor) poll(ctx context.Context, i int) error {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	var ident string // the server's identity, read once per connection
	for {
		ob := history.Observation{Instance: history.InstanceID(i)}
		var errMsg string
		var src *string
		pctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
		if conn == nil {
			c, err := pgx.ConnectConfig(pctx, m.conf[i])
			if err == nil {
				conn = c
				ident = workload.IdentityOf(pctx, c)
			} else {
				errMsg = err.Error()
			}
		}
		if conn != nil {
			var w, rcv, rpl *string
			var tl int64
			err := conn.QueryRow(pctx, pollSQL).Scan(&ob.InRecovery, &w, &rcv, &rpl, &tl, &ob.Streaming, &src)
			if err != nil {
				errMsg = err.Error()
				_ = conn.Close(context.Background())
				conn = nil
			} else {
				ob.Reachable = true
				ob.Timeline = uint32(tl)
				ob.WriteLSN, ob.ReceiveLSN, ob.ReplayLSN = lsnOf(w), lsnOf(rcv), lsnOf(rpl)
			}
		}
		cancel()
		if ctx.Err() != nil {
			// A poll cut short by the end of the run is not evidence.
			return nil
		}
		ob.At = time.Since(m.start)
		m.mu.Lock()
		m.latest[i] = ob
		m.mu.Unlock()
		txt := history.ObsText{Err: errMsg}
		if ob.Reachable {
			txt.Ident = ident
			if src != nil {
				txt.Src = *src
			}
		}
		if err := m.log.RecordText(ob, txt); err != nil {
			return fmt.Errorf("monitor of %s: %w", m.targets[i].Name, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func lsnOf(s *string) history.LSN {
	if s == nil {
		return 0
	}
	l, _ := history.ParseLSN(*s)
	return l
}
