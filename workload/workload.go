package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgchaos/pgchaos/history"
)

// evidenceSQL is the RETURNING clause of every write: the WAL insert position
// (a lower bound of the commit record) and the server clock, both read in
// binary (no formatting on the server). The timeline being written is read
// once per connection (writerTimeline): a primary's timeline only changes
// by a restart, which ends the connection.
const evidenceSQL = `RETURNING pg_current_wal_insert_lsn(), clock_timestamp()`

// DefaultTable is the table the workload writes to.
const DefaultTable = "pgchaos_writes"

// Config describes one workload run.
type Config struct {
	// DSN is a libpq connection string or URL; multi-host with
	// target_session_attrs=read-write makes clients follow a moving primary.
	DSN string
	// MoreDSNs, when set, spread the clients round-robin over DSN and these
	// (client i uses the (i mod n)-th): clients on two primaries at once.
	MoreDSNs []string
	// Clients is the number of concurrent clients, one connection each.
	Clients int
	// Rate is the total target of write attempts per second; 0 is unlimited.
	Rate float64
	// Duration bounds the run; 0 runs until the context is cancelled.
	Duration time.Duration
	// OpTimeout bounds one write (default 5s); past it the write is unknown.
	OpTimeout time.Duration
	// ConnectTimeout bounds one connection attempt per host when the DSN
	// sets none (default 2s).
	ConnectTimeout time.Duration
	// BackoffMin and BackoffMax bound the jittered reconnect backoff
	// (defaults 10ms and 200ms).
	BackoffMin, BackoffMax time.Duration
	// Table is the workload's table (default DefaultTable).
	Table string
	// Run tags this run's rows, so a table shared by many runs stays
	// checkable. Zero picks a random one.
	Run    int64
	Logger *slog.Logger

	// oneAtATime makes the loop write each request with its own system
	// call, as it does where io_uring is unavailable (tests).
	oneAtATime bool
}

func (c *Config) defaults() {
	if c.Clients <= 0 {
		c.Clients = 4
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 5 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 2 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 10 * time.Millisecond
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = 200 * time.Millisecond
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.Run == 0 {
		c.Run = rand.Int64N(1<<53) + 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ParseDSN validates a connection string and applies the connect timeout
// when it sets none. Errors read well on one line.
func ParseDSN(dsn string, connectTimeout time.Duration) (*pgx.ConnConfig, error) {
	if dsn == "" {
		return nil, errors.New("empty connection string")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("not a PostgreSQL connection string (libpq key=value or postgres:// URL): %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

// Stats are live counters for progress display. Safe for concurrent use.
type Stats struct {
	OK, Fail, Unknown atomic.Int64
	current           atomic.Value // string: the last node that acknowledged
}

// Current returns the name of the server that acknowledged the latest write.
func (s *Stats) Current() string {
	v, _ := s.current.Load().(string)
	return v
}

// Workload is one configured run.
type Workload struct {
	cfg    Config
	conns  []*pgx.ConnConfig
	ledger *history.Ledger
	Stats  Stats
	// ringWrites counts the writes sent through io_uring (tests).
	ringWrites atomic.Int64
}

// New validates cfg. The ledger receives every write.
func New(cfg Config, ledger *history.Ledger) (*Workload, error) {
	cfg.defaults()
	if !identRE.MatchString(cfg.Table) {
		return nil, fmt.Errorf("table name %q: use lower-case letters, digits and _", cfg.Table)
	}
	w := &Workload{cfg: cfg, ledger: ledger}
	for _, d := range append([]string{cfg.DSN}, cfg.MoreDSNs...) {
		cc, err := ParseDSN(d, cfg.ConnectTimeout)
		if err != nil {
			return nil, err
		}
		w.conns = append(w.conns, cc)
	}
	return w, nil
}

// Config returns the effective configuration.
func (w *Workload) Config() Config { return w.cfg }

// Prepare connects once and creates the workload's table if it is missing.
// Its errors are the user's to fix (see SetupError).
func (w *Workload) Prepare(ctx context.Context) error {
	for _, cc := range w.conns {
		if err := Prepare(ctx, cc, w.cfg.Table); err != nil {
			return err
		}
	}
	return nil
}

// prepareTimeout bounds Prepare: a commit can hang forever, e.g. waiting for
// a synchronous standby that is gone.
const prepareTimeout = 30 * time.Second

// Prepare creates table on the server cc reaches, if missing.
func Prepare(ctx context.Context, cc *pgx.ConnConfig, table string) error {
	ctx, cancel := context.WithTimeout(ctx, prepareTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return explainConnect(cc, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	err = conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists)
	if err != nil {
		return &SetupError{Msg: fmt.Sprintf("checking table %s: %v", table, err)}
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		run bigint NOT NULL,
		id bigint NOT NULL,
		client integer NOT NULL,
		at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return &SetupError{Msg: fmt.Sprintf("role %q may not create table %s (%s); grant it CREATE on the schema, or create the table as documented in the README", cc.User, table, pgErr.Message)}
		}
		if errors.As(err, &pgErr) && pgErr.Code == "25006" {
			return &SetupError{Msg: fmt.Sprintf("server %s is read-only (a standby?); point --dsn at the primary or add target_session_attrs=read-write", cc.Host)}
		}
		if ctx.Err() != nil {
			return &SetupError{Msg: fmt.Sprintf("creating table %s did not finish within %s (is a synchronous standby missing?)", table, prepareTimeout)}
		}
		return &SetupError{Msg: fmt.Sprintf("creating table %s: %v", table, err)}
	}
	return nil
}

// SetupError is a problem with the user's input or target (bad DSN,
// unreachable server, wrong password, missing privilege): not a harness bug.
type SetupError struct{ Msg string }

func (e *SetupError) Error() string { return e.Msg }

func explainConnect(cc *pgx.ConnConfig, err error) error {
	where := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return &SetupError{Msg: fmt.Sprintf("authentication failed for user %q at %s (%s); check the user and password in the DSN", cc.User, where, pgErr.Message)}
		case "3D000":
			return &SetupError{Msg: fmt.Sprintf("database %q does not exist at %s; create it or fix dbname in the DSN", cc.Database, where)}
		}
		return &SetupError{Msg: fmt.Sprintf("server at %s refused the connection: %s (SQLSTATE %s)", where, pgErr.Message, pgErr.Code)}
	}
	return &SetupError{Msg: fmt.Sprintf("cannot connect to PostgreSQL at %s: %v; check the DSN and that the server is running", where, unwrapAll(err))}
}

// unwrapAll returns the innermost error message of a connect failure, which
// is the one that says what happened (refused, timeout, no such host).
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// noLB begins every query the workload asks before writing on a
// connection (who the server is, its timeline): a proxy that load-balances
// reads (Pgpool-II) must send them where it sends writes, or the writes
// would be credited to a standby. Pgpool-II routes a query that begins
// with this comment to its primary; to PostgreSQL it is a comment.
const noLB = "/*NO LOAD BALANCE*/ "

// insertStmt names the prepared write on each connection.
const insertStmt = "pgchaos_write"

// Identify asks the server who it is: its address, cluster_name and system
// identifier. The address falls back to the dialled peer for Unix sockets.
func Identify(ctx context.Context, conn *pgx.Conn) (history.Node, error) {
	var addr *string
	var port *int32
	var clusterName string
	err := conn.QueryRow(ctx, noLB+`SELECT host(inet_server_addr()), inet_server_port(), current_setting('cluster_name')`).
		Scan(&addr, &port, &clusterName)
	if err != nil {
		return history.Node{}, fmt.Errorf("identifying server: %w", err)
	}
	var n history.Node
	if addr != nil && port != nil {
		n.Server = net.JoinHostPort(*addr, strconv.Itoa(int(*port)))
	} else {
		cfg := conn.PgConn()
		n.Server = net.JoinHostPort(cfg.Conn().RemoteAddr().String(), strconv.Itoa(int(conn.Config().Port)))
	}
	n.Instance = clusterName
	if n.Instance == "" {
		n.Instance = n.Server
	}
	n.SystemID, n.Started = identify(ctx, conn)
	return n, nil
}

// startedSQL reads the postmaster's start time in Unix microseconds: text
// that does not depend on the session's TimeZone.
const startedSQL = `SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text`

// identify reads the server's system identifier and postmaster start time;
// either is "" when it cannot be read (pg_control_system() may be
// restricted).
func identify(ctx context.Context, conn *pgx.Conn) (sysid, started string) {
	if err := conn.QueryRow(ctx, noLB+`SELECT system_identifier::text FROM pg_control_system()`).Scan(&sysid); err != nil {
		sysid = ""
	}
	if err := conn.QueryRow(ctx, noLB+startedSQL).Scan(&started); err != nil {
		started = ""
	}
	return sysid, started
}

// IdentityOf returns the identity of the server conn is connected to, as
// history.Node.Identity spells it, or "" when its start time cannot be read.
func IdentityOf(ctx context.Context, conn *pgx.Conn) string {
	sysid, started := identify(ctx, conn)
	if started == "" {
		return ""
	}
	return history.Node{SystemID: sysid, Started: started}.Identity()
}

// errInRecovery: the server reached is a standby. Writes there fail anyway;
// refusing the connection (rather than writing) keeps the timeline read at
// connect true: a standby's timeline changes when it is promoted.
var errInRecovery = errors.New("server is in recovery (a standby): not writing there")

// writerTimeline returns the timeline a primary is writing, or errInRecovery.
func writerTimeline(ctx context.Context, conn *pgx.Conn) (uint32, error) {
	var walfile *string
	err := conn.QueryRow(ctx, noLB+`SELECT CASE WHEN pg_is_in_recovery() THEN NULL
		ELSE pg_walfile_name(pg_current_wal_insert_lsn()) END`).Scan(&walfile)
	if err != nil {
		return 0, fmt.Errorf("reading the timeline: %w", err)
	}
	if walfile == nil {
		return 0, errInRecovery
	}
	return TimelineOfWALFile(*walfile)
}

// TimelineOfWALFile returns the timeline of a WAL segment file name: its first
// eight hexadecimal digits.
func TimelineOfWALFile(name string) (uint32, error) {
	if len(name) < 24 {
		return 0, fmt.Errorf("reading timeline: %q is not a WAL file name", name)
	}
	v, err := strconv.ParseUint(name[:8], 16, 32)
	if err != nil {
		return 0, fmt.Errorf("reading timeline of %q: %w", name, err)
	}
	return uint32(v), nil
}
