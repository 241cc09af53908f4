package pgtestbed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeouts of the testbed. Every wait is bounded by one of them.
const (
	// streamingTimeout bounds Start's wait for every replica to stream.
	streamingTimeout = 60 * time.Second
	// pgCtlTimeout is pg_ctl's -t: start, stop and promote.
	pgCtlTimeout = 60 * time.Second
	// killTimeout bounds the wait for killed processes to vanish.
	killTimeout = 10 * time.Second
	// closeTimeout bounds Close as a whole.
	closeTimeout = 90 * time.Second
	// pollInterval is the period of every polling loop.
	pollInterval = 100 * time.Millisecond
	// portAttempts is how many ports Start tries for one instance.
	portAttempts = 3
)

// Options configures Start. The zero value is a primary and two asynchronous
// replicas in a fresh temporary directory.
type Options struct {
	// Replicas is the number of streaming replicas; 0 means 2, a negative
	// number means none.
	Replicas int
	// Synchronous sets synchronous_standby_names = 'ANY 1 (pg1, pg2, ...)'
	// (the replicas' names) on the primary.
	Synchronous bool
	// BaseDir is the directory of the cluster; it must be empty or absent.
	// Default: a fresh directory under os.TempDir().
	BaseDir string
	// BinDir holds the PostgreSQL binaries. Default: the newest version
	// under /usr/lib/postgresql (see FindBinDir).
	BinDir string
	// Logger receives the testbed's progress. Default: discard.
	Logger *slog.Logger
	// ExtraConf are extra postgresql.conf lines for every instance, applied
	// after (so overriding) the testbed's own settings.
	ExtraConf []string
	// HBA are pg_hba.conf lines placed before the testbed's own "trust"
	// rules, e.g. "host all alice 127.0.0.1/32 scram-sha-256" to make one
	// role need a password.
	HBA []string
	// TLS turns ssl on in every instance, with a self-signed certificate,
	// so that clients with sslmode=require talk TLS.
	TLS bool
	// Keep keeps BaseDir (data directories and logs) after Close, and after
	// a failed Start, for debugging. Servers are stopped either way.
	Keep bool
}

// Cluster is a running testbed: one primary and its streaming replicas on
// 127.0.0.1. Its methods may be called from several goroutines, but faults on
// one instance must not race with each other.
type Cluster struct {
	// Instances are pg0 (the initial primary), pg1, ... in that order.
	Instances []*Instance
	// BaseDir holds every data directory, log and socket of the cluster.
	BaseDir string
	// SocketDir is the unix_socket_directories of every instance.
	SocketDir string
	// BinDir holds the PostgreSQL binaries in use.
	BinDir string

	opts Options
	run  *runner
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	// extras are instances started by StartCopy.
	extras []*Instance
}

// Start creates and starts a cluster: initdb of pg0, pg_basebackup of every
// replica, and a bounded wait until pg_stat_replication on pg0 shows every
// replica streaming. On failure it cleans up after itself (see Options.Keep).
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	switch {
	case opts.Replicas == 0:
		opts.Replicas = 2
	case opts.Replicas < 0:
		opts.Replicas = 0
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = FindBinDir(); err != nil {
			return nil, fmt.Errorf("starting testbed: %w", err)
		}
	}
	for _, tool := range []string{"postgres", "initdb", "pg_ctl", "pg_basebackup", "pg_rewind"} {
		if _, err := os.Stat(filepath.Join(binDir, tool)); err != nil {
			return nil, fmt.Errorf("starting testbed: PostgreSQL binaries in %s: %w", binDir, err)
		}
	}
	cred, userName, err := resolveRunUser(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("starting testbed: %w", err)
	}
	base, err := makeBaseDir(opts.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("starting testbed: %w", err)
	}
	c := &Cluster{
		BaseDir:   base,
		SocketDir: filepath.Join(base, "sock"),
		BinDir:    binDir,
		opts:      opts,
		log:       log,
		run:       &runner{binDir: binDir, baseDir: base, cred: cred, userName: userName, log: log},
	}
	defer func() {
		if err != nil {
			if cerr := c.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	log.InfoContext(ctx, "starting testbed", "base", base, "bin", binDir, "user", userName,
		"replicas", opts.Replicas, "synchronous", opts.Synchronous)

	if err := c.prepareBaseDir(ctx); err != nil {
		return nil, fmt.Errorf("starting testbed in %s: %w", base, err)
	}
	used := map[int]bool{}
	for k := 0; k <= opts.Replicas; k++ {
		name := "pg" + strconv.Itoa(k)
		port, err := freePort(used)
		if err != nil {
			return nil, fmt.Errorf("choosing a port for %s: %w", name, err)
		}
		c.Instances = append(c.Instances, &Instance{
			Name:    name,
			Port:    port,
			DataDir: filepath.Join(base, name),
			LogFile: filepath.Join(base, name+".log"),
			c:       c,
		})
	}

	primary := c.Primary()
	if err := c.initPrimary(ctx, primary); err != nil {
		return nil, err
	}
	if err := c.startFresh(ctx, primary, used); err != nil {
		return nil, err
	}
	for _, r := range c.Instances[1:] {
		if err := c.cloneReplica(ctx, r, primary); err != nil {
			return nil, err
		}
		if err := c.startFresh(ctx, r, used); err != nil {
			return nil, err
		}
	}
	if err := c.WaitStreaming(ctx, primary, opts.Replicas, streamingTimeout); err != nil {
		return nil, fmt.Errorf("starting testbed: %w", err)
	}
	log.InfoContext(ctx, "testbed running", "base", base, "dsn", c.MultiHostDSN())
	return c, nil
}

// makeBaseDir creates the base directory and returns its absolute, symlink
// free path (the path processes report as their working directory).
func makeBaseDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "pgtestbed-")
		if err != nil {
			return "", fmt.Errorf("creating base directory: %w", err)
		}
		dir = d
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("creating base directory %s: %w", dir, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", fmt.Errorf("reading base directory %s: %w", dir, err)
		}
		if len(entries) > 0 {
			return "", fmt.Errorf("base directory %s is not empty", dir)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving base directory %s: %w", dir, err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", fmt.Errorf("resolving base directory %s: %w", dir, err)
	}
	return abs, nil
}

// prepareBaseDir hands the base directory to the run user, creates the socket
// directory and checks that the run user can work there.
func (c *Cluster) prepareBaseDir(ctx context.Context) error {
	if err := os.Chmod(c.BaseDir, 0o700); err != nil {
		return fmt.Errorf("chmod base directory: %w", err)
	}
	if err := c.run.chown(c.BaseDir); err != nil {
		return err
	}
	if err := os.Mkdir(c.SocketDir, 0o700); err != nil {
		return fmt.Errorf("creating socket directory: %w", err)
	}
	if err := c.run.chown(c.SocketDir); err != nil {
		return err
	}
	if limit := 107 - len("/.s.PGSQL.65535"); len(c.SocketDir) > limit {
		return fmt.Errorf("socket directory %s is longer than %d bytes; use a shorter BaseDir", c.SocketDir, limit)
	}
	if _, err := c.run.run(ctx, "pg_ctl", "--version"); err != nil {
		return fmt.Errorf("running PostgreSQL as user %s in %s (every parent directory must be searchable by that user): %w",
			c.run.userName, c.BaseDir, err)
	}
	return nil
}

// initPrimary runs initdb for the primary. Data checksums let pg_rewind work.
func (c *Cluster) initPrimary(ctx context.Context, i *Instance) error {
	c.log.InfoContext(ctx, "initdb", "instance", i.Name, "datadir", i.DataDir)
	if _, err := c.run.run(ctx, "initdb", "-D", i.DataDir, "-U", "postgres", "-A", "trust",
		"--data-checksums", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		return fmt.Errorf("initdb of %s: %w", i.Name, err)
	}
	if err := c.includeConf(i); err != nil {
		return err
	}
	if len(c.opts.HBA) > 0 {
		path := filepath.Join(i.DataDir, "pg_hba.conf")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading pg_hba.conf of %s: %w", i.Name, err)
		}
		b = append([]byte(strings.Join(c.opts.HBA, "\n")+"\n"), b...)
		if err := c.run.writeFile(path, b); err != nil {
			return fmt.Errorf("writing pg_hba.conf of %s: %w", i.Name, err)
		}
	}
	return c.writeConf(i)
}

// cloneReplica makes r a streaming replica of primary with pg_basebackup.
func (c *Cluster) cloneReplica(ctx context.Context, r, primary *Instance) error {
	c.log.InfoContext(ctx, "pg_basebackup", "instance", r.Name, "from", primary.Name)
	if _, err := c.run.run(ctx, "pg_basebackup", "-D", r.DataDir, "-d", c.primaryConninfo(primary, r),
		"-X", "stream", "-c", "fast", "-R", "--no-sync"); err != nil {
		return fmt.Errorf("pg_basebackup of %s from %s: %w\n%s", r.Name, primary.Name, err, primary.LogTail(20))
	}
	// The copy carries the primary's pgtestbed.conf (port, cluster_name...).
	if err := c.writeConf(r); err != nil {
		return err
	}
	return c.makeStandby(r, primary)
}

// startFresh starts a new instance, moving it to another free port if its
// port was taken meanwhile (ports are chosen by binding :0 then closing).
func (c *Cluster) startFresh(ctx context.Context, i *Instance, used map[int]bool) error {
	for attempt := 1; ; attempt++ {
		from := i.logSize()
		err := i.Start(ctx)
		if err == nil {
			return nil
		}
		fresh := i.logFrom(from)
		if attempt >= portAttempts || !(strings.Contains(fresh, "Address already in use") ||
			strings.Contains(fresh, "could not create any TCP/IP sockets")) {
			return err
		}
		port, perr := freePort(used)
		if perr != nil {
			return errors.Join(err, fmt.Errorf("choosing another port for %s: %w", i.Name, perr))
		}
		c.log.WarnContext(ctx, "port taken, retrying", "instance", i.Name, "port", i.Port, "new_port", port)
		i.Port = port
		if err := c.writeConf(i); err != nil {
			return err
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago and is
// not in used, and adds it to used.
func freePort(used map[int]bool) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("listening on 127.0.0.1:0: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("closing probe listener: %w", err)
		}
		if !used[port] {
			used[port] = true
			return port, nil
		}
	}
	return 0, errors.New("no free port found")
}

// Primary returns pg0, the instance initially created as primary. It is
// static: after a Promote of another instance it still returns pg0.
func (c *Cluster) Primary() *Instance {
	return c.Instances[0]
}

// DSN returns a libpq keyword/value connection string to i over TCP.
func (c *Cluster) DSN(i *Instance) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=2", i.Port)
}

// MultiHostDSN returns a connection string listing every instance, with
// target_session_attrs=read-write so that libpq (and pgx) pick the primary.
func (c *Cluster) MultiHostDSN() string {
	hosts := make([]string, len(c.Instances))
	ports := make([]string, len(c.Instances))
	for k, i := range c.Instances {
		hosts[k] = "127.0.0.1"
		ports[k] = strconv.Itoa(i.Port)
	}
	return fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable connect_timeout=2 target_session_attrs=read-write",
		strings.Join(hosts, ","), strings.Join(ports, ","))
}

// Connect opens a connection to i as the superuser postgres.
func (c *Cluster) Connect(ctx context.Context, i *Instance) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.DSN(i))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", i.Name, err)
	}
	return conn, nil
}

// exec runs one statement on i on a connection of its own.
func (c *Cluster) exec(ctx context.Context, i *Instance, sql string) error {
	conn, err := c.Connect(ctx, i)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s on %s: %w", sql, i.Name, err)
	}
	return nil
}

// SetSynchronous sets synchronous_standby_names on i (ALTER SYSTEM) and
// reloads its configuration. An empty standbyNames makes i asynchronous.
func (c *Cluster) SetSynchronous(ctx context.Context, i *Instance, standbyNames string) error {
	if err := c.exec(ctx, i, "ALTER SYSTEM SET synchronous_standby_names = "+quoteConf(standbyNames)); err != nil {
		return fmt.Errorf("setting synchronous_standby_names of %s: %w", i.Name, err)
	}
	if err := c.exec(ctx, i, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("reloading configuration of %s: %w", i.Name, err)
	}
	return nil
}

// WaitStreaming waits until pg_stat_replication on primary shows at least n
// replicas in state 'streaming', for at most timeout.
func (c *Cluster) WaitStreaming(ctx context.Context, primary *Instance, n int, timeout time.Duration) error {
	var got int64
	err := c.poll(ctx, primary, timeout, func(ctx context.Context, conn *pgx.Conn) (bool, error) {
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").Scan(&got)
		return err == nil && got >= int64(n), err
	})
	if err != nil {
		return fmt.Errorf("waiting for %d replicas streaming from %s (last saw %d): %w", n, primary.Name, got, err)
	}
	return nil
}

// WaitReplayed waits until at least n replicas streaming from primary have
// replayed everything primary had written when WaitReplayed was called, for
// at most timeout.
func (c *Cluster) WaitReplayed(ctx context.Context, primary *Instance, n int, timeout time.Duration) error {
	var target string
	var got int64
	err := c.poll(ctx, primary, timeout, func(ctx context.Context, conn *pgx.Conn) (bool, error) {
		if target == "" {
			if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
				return false, err
			}
		}
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_replication
			WHERE state = 'streaming' AND replay_lsn >= $1::text::pg_lsn`, target).Scan(&got)
		return err == nil && got >= int64(n), err
	})
	if err != nil {
		return fmt.Errorf("waiting for %d replicas of %s to replay %s (last saw %d): %w", n, primary.Name, target, got, err)
	}
	return nil
}

// poll runs check on a connection to i every pollInterval until it returns
// true, reconnecting as needed. On timeout the error carries the last error
// and the tail of i's log.
func (c *Cluster) poll(ctx context.Context, i *Instance, timeout time.Duration,
	check func(context.Context, *pgx.Conn) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	var last error
	for {
		if conn == nil {
			conn, last = c.Connect(ctx, i)
		}
		if conn != nil {
			var ok bool
			ok, last = check(ctx, conn)
			if ok {
				return nil
			}
			if last != nil {
				conn.Close(context.WithoutCancel(ctx))
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s gave up after %s (last error: %v): %w\n--- last lines of %s:\n%s",
				i.Name, timeout, last, ctx.Err(), i.LogFile, i.LogTail(20))
		case <-time.After(pollInterval):
		}
	}
}

// Close stops every instance (immediate shutdown), kills whatever is left of
// them, and removes BaseDir unless Options.Keep. It is idempotent; only the
// first call does anything.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	all := append(append([]*Instance(nil), c.Instances...), c.extras...)
	for k := len(all) - 1; k >= 0; k-- {
		i := all[k]
		if i.Running() {
			if err := i.StopImmediate(ctx); err != nil {
				c.log.WarnContext(ctx, "immediate stop failed, killing", "instance", i.Name, "err", err)
			}
		}
		if err := i.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := killAndWait(serversIn(c.BaseDir)); err != nil {
		errs = append(errs, fmt.Errorf("killing leftovers in %s: %w", c.BaseDir, err))
	}
	if !c.opts.Keep {
		if err := os.RemoveAll(c.BaseDir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", c.BaseDir, err))
		}
	} else {
		c.log.InfoContext(ctx, "keeping testbed directory", "base", c.BaseDir)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing testbed %s: %w", c.BaseDir, err)
	}
	return nil
}
