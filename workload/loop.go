package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/poller"
	"github.com/pgchaos/pgchaos/internal/uring"
	"golang.org/x/sys/unix"
)

// The loop: one goroutine drives every client. Each client is a small state
// machine (idle, connecting, in flight, backing off, done); the loop starts
// the writes that are due, waits on the poller until an answer, a finished
// connection attempt or the earliest timer, and moves the clients on.
// Connection attempts run in goroutines of their own (pgx's connect, auth,
// prepare and identification block), and so does the reading of connections
// the poller cannot watch (TLS).

type state uint8

const (
	idle       state = iota // connected or not, waiting for its next write
	connecting              // a write began; its connection is being made
	inFlight                // a write was sent; its answer is awaited
	backingOff              // after a failed or unknown write
	done                    // stopped
)

type client struct {
	id    uint32
	state state
	rng   *rand.Rand

	link   link
	raw    *rawLink       // link, when it is a plain socket
	queued bool           // its write waits in l.batch for the next submit
	pg     *pgconn.PgConn // the connection pgx made, for cancel requests
	node   history.NodeID
	name   string
	tl     uint32 // the timeline the server writes (see writerTimeline)

	next     time.Time // rate-limited: when the next write may start
	until    time.Time // backing off until
	deadline time.Time // of the write in flight or connecting
	backoff  time.Duration

	op     int64
	ans    answer
	in     []byte // unparsed answer bytes
	params [3][]byte
	out    []byte
}

// dialed is the result of a connection attempt.
type dialed struct {
	client int
	link   link
	pg     *pgconn.PgConn
	tl     uint32
	node   history.NodeID
	name   string
	err    error
}

type loop struct {
	w        *Workload
	ctx      context.Context
	poll     *poller.Poller
	clients  []*client
	interval time.Duration
	insert   string
	gen      int32
	lastName string

	// ring sends the writes of one turn of the loop in one system call
	// (internal/uring); nil where io_uring is unavailable.
	ring  *uring.Ring
	batch []*client

	dials  chan dialed
	chunks chan chunk
	stop   chan struct{} // closed when the loop ends: readers give up
	wg     sync.WaitGroup
}

// Run drives the clients until the duration passes or ctx is cancelled. A
// cancelled ctx stops new writes; writes in flight complete or time out on
// their own (a cancelled write would be an unknown for no reason).
func (w *Workload) Run(ctx context.Context) error {
	if w.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.Duration)
		defer cancel()
	}
	p, err := poller.New(w.cfg.Clients + 1)
	if err != nil {
		return err
	}
	defer p.Close()
	l := &loop{
		w: w, ctx: ctx, poll: p,
		insert: `INSERT INTO ` + w.cfg.Table + ` (run, id, client) VALUES ($1, $2, $3) ` + evidenceSQL,
		dials:  make(chan dialed, w.cfg.Clients),
		chunks: make(chan chunk, 4*w.cfg.Clients),
		stop:   make(chan struct{}),
	}
	if w.cfg.Rate > 0 {
		l.interval = time.Duration(float64(time.Second) * float64(w.cfg.Clients) / w.cfg.Rate)
	}
	now := time.Now()
	for c := 0; c < w.cfg.Clients; c++ {
		cl := &client{id: uint32(c), rng: rand.New(rand.NewPCG(uint64(w.cfg.Run), uint64(c))), next: now}
		if l.interval > 0 {
			cl.next = now.Add(time.Duration(cl.rng.Int64N(int64(l.interval))))
		}
		l.clients = append(l.clients, cl)
	}
	// Cancellation must end a wait on the poller.
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case <-ctx.Done():
			p.Wake()
		case <-l.stop:
		}
	}()
	if !w.cfg.oneAtATime {
		if ring, rerr := uring.New(uint32(w.cfg.Clients)); rerr == nil {
			l.ring = ring
			defer ring.Close()
		} else {
			w.cfg.Logger.Debug("io_uring unavailable: writing one at a time", "err", rerr)
		}
	}
	err = l.run()
	for _, c := range l.clients {
		l.drop(c, true)
	}
	close(l.stop)
	// Connection attempts end by their deadlines; a connection that
	// arrives after the end is closed here.
	go func() {
		for d := range l.dials {
			if d.link != nil {
				d.link.close()
			}
		}
	}()
	l.wg.Wait()
	close(l.dials)
	return err
}

// yieldEvery is how often the loop yields its thread to the scheduler. The
// loop never blocks in Go (only in epoll_wait), so without it the runtime
// sees one goroutine running for ever: every 10 ms its monitor thread
// preempts it or takes its P away in the system call, and polls again every
// 20 µs for a millisecond or more after each time. That cost 12% of the
// workload's CPU (perf record, 8 clients on loopback: sysmon's nanosleep);
// yielding more often than every 10 ms (sysmon's longest sleep) shows the
// runtime a goroutine that takes turns, and cut the client's CPU per write
// from 22-25 µs to 18-21 µs, pgbench's own (2026-12-02, session 5).
const yieldEvery = 4 * time.Millisecond

func (l *loop) run() error {
	yielded := time.Now()
	for {
		now := time.Now()
		if now.Sub(yielded) >= yieldEvery {
			runtime.Gosched()
			yielded = now
		}
		stopping := l.ctx.Err() != nil
		wake, live := now.Add(time.Hour), false
		for _, c := range l.clients {
			if err := l.step(c, now, stopping); err != nil {
				return err
			}
			if c.state != done {
				live = true
				if t := l.due(c, now); !t.IsZero() && t.Before(wake) {
					wake = t
				}
			}
		}
		if !live {
			return nil
		}
		if err := l.submit(); err != nil {
			return err
		}
		evs, woken, err := l.poll.Wait(max(0, time.Until(wake)))
		if err != nil {
			return err
		}
		for _, ev := range evs {
			c := l.clients[ev.Token]
			if c.raw == nil || c.raw.gen != ev.Gen {
				continue // an event of a connection already dropped
			}
			if err := l.readable(c); err != nil {
				return err
			}
			// An acknowledged client writes again at once, as pgbench
			// does, rather than after the other answers of this batch.
			if c.state == idle && l.interval == 0 {
				if err := l.step(c, time.Now(), stopping); err != nil {
					return err
				}
			}
		}
		if woken || len(l.dials) > 0 || len(l.chunks) > 0 {
			if err := l.inbox(); err != nil {
				return err
			}
		}
	}
}

// step moves c on by the clock: it starts a write that is due and expires
// timers.
func (l *loop) step(c *client, now time.Time, stopping bool) error {
	switch c.state {
	case backingOff:
		if stopping {
			c.state = done
			return nil
		}
		if now.Before(c.until) {
			return nil
		}
		c.state = idle
		fallthrough
	case idle:
		if stopping {
			l.drop(c, true)
			c.state = done
			return nil
		}
		if l.interval > 0 {
			if now.Before(c.next) {
				return nil
			}
			c.next = c.next.Add(l.interval)
			if now.Sub(c.next) > 2*time.Second {
				c.next = now // do not burst to catch up after an outage
			}
		}
		return l.begin(c, now)
	case inFlight:
		if now.Before(c.deadline) {
			return nil
		}
		// Ask the server to cancel the statement, as libpq and pgx do when
		// a query times out: its backend would otherwise go on waiting (for
		// a lock, a disk, a synchronous standby that is gone) long after
		// the client gave up, one more for every timed-out write, until
		// the server runs out of connections.
		l.cancel(c.pg)
		return l.finish(c, fmt.Errorf("timeout: no answer within %s", l.w.cfg.OpTimeout))
	}
	// connecting: the attempt ends by its own deadline.
	return nil
}

// due is when c next needs the clock; zero is never.
func (l *loop) due(c *client, now time.Time) time.Time {
	switch c.state {
	case idle:
		if l.interval > 0 {
			return c.next
		}
		return now
	case backingOff:
		return c.until
	case inFlight:
		return c.deadline
	}
	return time.Time{}
}

// begin records a new write of c and sends it, connecting first if needed.
func (l *loop) begin(c *client, now time.Time) error {
	op, _, err := l.w.ledger.Begin(c.id)
	if err != nil {
		return fmt.Errorf("client %d: %w", c.id, err)
	}
	c.op, c.deadline = op, now.Add(l.w.cfg.OpTimeout)
	if c.link == nil {
		c.state = connecting
		l.dial(c)
		return nil
	}
	return l.send(c)
}

// send sends c's write on its connection.
func (l *loop) send(c *client) error {
	c.params[0] = strconv.AppendInt(c.params[0][:0], l.w.cfg.Run, 10)
	c.params[1] = strconv.AppendInt(c.params[1][:0], c.op, 10)
	c.params[2] = strconv.AppendUint(c.params[2][:0], uint64(c.id), 10)
	c.out = appendWrite(c.out[:0], insertStmt, c.params[:])
	c.ans.reset()
	c.in = c.in[:0]
	if l.ring != nil && c.raw != nil {
		c.queued, c.state = true, inFlight
		l.batch = append(l.batch, c)
		return nil
	}
	sent, err := c.link.write(c.out, c.deadline)
	if err != nil {
		if !sent {
			err = errNotSent{err}
		}
		return l.finish(c, err)
	}
	c.state = inFlight
	return nil
}

// submit sends the queued writes of this turn together. Entries reach the
// ring only here: a client dropped meanwhile is simply left out (its socket
// may be closed and its descriptor number reused).
func (l *loop) submit() error {
	if len(l.batch) == 0 {
		return nil
	}
	for _, c := range l.batch {
		if !c.queued {
			continue // dropped since, or already in the ring
		}
		c.queued = false
		if err := l.ring.Queue(c.raw.fd, c.out, uint64(c.id)); err != nil {
			return fmt.Errorf("client %d: %w", c.id, err)
		}
	}
	clear(l.batch)
	l.batch = l.batch[:0]
	var ferr error
	err := l.ring.Submit(func(tag uint64, res int32) {
		c := l.clients[tag]
		l.w.ringWrites.Add(1)
		if int(res) == len(c.out) || ferr != nil {
			return
		}
		var werr error
		if res < 0 {
			werr = errNotSent{fmt.Errorf("sending write: %w", unix.Errno(-res))}
		} else {
			werr = fmt.Errorf("sending write: %d of %d bytes sent", res, len(c.out))
		}
		ferr = l.finish(c, werr)
	})
	if err != nil {
		return err
	}
	return ferr
}

func (l *loop) dial(c *client) {
	idx, deadline := int(c.id), c.deadline
	cc := l.w.conns[idx%len(l.w.conns)]
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		ctx, cancel := context.WithDeadline(context.WithoutCancel(l.ctx), deadline)
		defer cancel()
		d := l.w.connect(ctx, cc, l.insert)
		d.client = idx
		if stream, ok := d.link.(*streamLink); ok {
			stream.client = idx
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				stream.readLoop(l.chunks, l.stop, l.poll.Wake)
			}()
		}
		l.dials <- d
		l.poll.Wake()
	}()
}

// cancelTimeout bounds one cancel request.
const cancelTimeout = 2 * time.Second

// cancel sends a cancel request for the statement running on pg, in the
// background.
func (l *loop) cancel(pg *pgconn.PgConn) {
	if pg == nil {
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(l.ctx), cancelTimeout)
		defer cancel()
		if err := pg.CancelRequest(ctx); err != nil {
			l.w.cfg.Logger.Debug("cancel request failed", "err", err)
		}
	}()
}

// inbox takes finished connection attempts and stream chunks.
func (l *loop) inbox() error {
	for {
		select {
		case d := <-l.dials:
			if err := l.dialed(d); err != nil {
				return err
			}
		case ch := <-l.chunks:
			c := l.clients[ch.link.client]
			if c.link != link(ch.link) {
				continue // from a connection already dropped
			}
			c.in = append(c.in, ch.data...)
			if err := l.received(c, ch.err); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (l *loop) dialed(d dialed) error {
	c := l.clients[d.client]
	if d.err != nil {
		return l.finish(c, errNotSent{d.err})
	}
	c.link, c.pg, c.tl, c.node, c.name = d.link, d.pg, d.tl, d.node, d.name
	if raw, ok := d.link.(*rawLink); ok {
		l.gen++
		raw.gen = l.gen
		if err := l.poll.Add(raw.fd, int32(d.client), raw.gen); err != nil {
			c.link = nil
			raw.close()
			return l.finish(c, errNotSent{err})
		}
		c.raw = raw
	}
	if l.ctx.Err() != nil {
		return l.finish(c, errNotSent{errors.New("workload stopping")})
	}
	return l.send(c)
}

// readable reads c's socket.
func (l *loop) readable(c *client) error {
	if cap(c.in)-len(c.in) < 4096 {
		c.in = append(make([]byte, 0, 2*cap(c.in)+4096), c.in...)
	}
	n, err := c.raw.read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+n]
	return l.received(c, err)
}

// received handles the bytes in c.in and the end of c's connection (rerr).
func (l *loop) received(c *client, rerr error) error {
	if c.state != inFlight {
		// Between writes a server only speaks to say goodbye (a FATAL
		// before a shutdown) or to report a setting: either way the next
		// write starts afresh on a new connection if this one ends.
		c.in = c.in[:0]
		if rerr != nil {
			l.drop(c, false)
		}
		return nil
	}
	n, perr := c.ans.feed(c.in)
	c.in = c.in[:copy(c.in, c.in[n:])]
	switch {
	case perr != nil:
		return l.finish(c, perr)
	case c.ans.ready:
		return l.finish(c, c.ans.outcome())
	case rerr != nil:
		if c.ans.pgErr != nil {
			return l.finish(c, c.ans.pgErr) // a FATAL, then the end
		}
		return l.finish(c, fmt.Errorf("%w: %w", errNoAnswer, rerr))
	}
	return nil
}

// finish records the outcome of c's current write.
func (l *loop) finish(c *client, err error) error {
	out := Classify(err)
	if out == history.OK {
		ack := history.Ack{Node: c.node, LSN: c.ans.lsn, Timeline: c.tl, ServerClock: c.ans.clock}
		if _, lerr := l.w.ledger.Acked(c.op, ack); lerr != nil {
			return fmt.Errorf("client %d: %w", c.id, lerr)
		}
		l.w.Stats.OK.Add(1)
		if c.name != l.lastName {
			l.lastName = c.name
			l.w.Stats.current.Store(c.name)
		}
		c.state, c.backoff = idle, 0
		return nil
	}
	if _, lerr := l.w.ledger.Finished(c.op, out, err); lerr != nil {
		return fmt.Errorf("client %d: %w", c.id, lerr)
	}
	if out == history.Fail {
		l.w.Stats.Fail.Add(1)
	} else {
		l.w.Stats.Unknown.Add(1)
	}
	l.w.cfg.Logger.Debug("write did not succeed", "client", c.id, "id", c.op, "outcome", out, "err", err)
	// After any error the connection's state is unknown, or it points at a
	// server that may no longer be the primary: start afresh.
	l.drop(c, false)
	if c.backoff == 0 {
		c.backoff = l.w.cfg.BackoffMin
	} else if c.backoff *= 2; c.backoff > l.w.cfg.BackoffMax {
		c.backoff = l.w.cfg.BackoffMax
	}
	c.state = backingOff
	c.until = time.Now().Add(c.backoff/2 + time.Duration(c.rng.Int64N(int64(c.backoff))))
	return nil
}

// drop closes c's connection, saying goodbye to the server if clean.
func (l *loop) drop(c *client, clean bool) {
	if c.link == nil {
		return
	}
	if clean && c.state != inFlight {
		c.out = appendTerminate(c.out[:0])
		_, _ = c.link.write(c.out, time.Now().Add(100*time.Millisecond))
	}
	c.queued = false // never sent: not in the ring yet (see submit)
	if c.raw != nil {
		_ = l.poll.Remove(c.raw.fd)
	}
	c.link.close()
	c.link, c.raw, c.pg = nil, nil, nil
	c.in = c.in[:0]
}

// connect opens a connection, prepares the write, records the server it
// reached and takes the socket over from pgx.
func (w *Workload) connect(ctx context.Context, cc *pgx.ConnConfig, insert string) dialed {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return dialed{err: err}
	}
	fail := func(err error) dialed {
		_ = conn.Close(context.WithoutCancel(ctx))
		return dialed{err: err}
	}
	if _, err := conn.PgConn().Prepare(ctx, insertStmt, insert, nil); err != nil {
		return fail(err)
	}
	n, err := Identify(ctx, conn)
	if err != nil {
		return fail(err)
	}
	tl, err := writerTimeline(ctx, conn)
	if err != nil {
		return fail(err)
	}
	id, err := w.ledger.Node(n)
	if err != nil {
		return fail(err)
	}
	name := n.Instance
	if name == "" {
		name = n.Server
	}
	if err := conn.PgConn().SyncConn(ctx); err != nil {
		return fail(err)
	}
	h, err := conn.PgConn().Hijack()
	if err != nil {
		return fail(err)
	}
	d := dialed{node: id, name: name, pg: conn.PgConn(), tl: tl}
	fd, ok, err := detach(h.Conn)
	switch {
	case err != nil:
		_ = h.Conn.Close()
		return dialed{err: err}
	case ok:
		d.link = &rawLink{fd: fd}
	default:
		d.link = &streamLink{conn: h.Conn}
	}
	return d
}
