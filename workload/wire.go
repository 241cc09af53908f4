package workload

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgchaos/pgchaos/history"
)

// The workload speaks the extended query protocol itself once a connection
// is set up (pgx connects, authenticates, prepares, then hands the socket
// over): one Bind + Execute + Sync per write, answered by BindComplete,
// DataRow, CommandComplete and ReadyForQuery. Message bodies are encoded and
// decoded by pgproto3; only the framing is here.

// maxMessage bounds one backend message: the answer to a write is a few
// hundred bytes, and a larger length means a broken stream.
const maxMessage = 1 << 20

// appendWrite appends the messages of one write of the prepared statement
// stmt with text parameters params.
func appendWrite(dst []byte, stmt string, params [][]byte) []byte {
	// The Encode methods of these messages only fail for more than 65535
	// parameters or formats.
	dst, _ = (&pgproto3.Bind{PreparedStatement: stmt, Parameters: params, ResultFormatCodes: binaryResults}).Encode(dst)
	dst, _ = (&pgproto3.Execute{}).Encode(dst)
	dst, _ = (&pgproto3.Sync{}).Encode(dst)
	return dst
}

// binaryResults asks for every column of the evidence in binary.
var binaryResults = []int16{1}

// pgEpochMicros is 2000-01-01 in Unix µs: binary timestamps count from it.
const pgEpochMicros = 946684800000000

// appendTerminate appends the message that ends a session cleanly.
func appendTerminate(dst []byte) []byte {
	dst, _ = (&pgproto3.Terminate{}).Encode(dst)
	return dst
}

// answer is what the server said about one write, read message by message.
type answer struct {
	rows        int
	lsn         history.LSN
	clock       int64
	evidenceErr error
	pgErr       *pgconn.PgError
	ready       bool // ReadyForQuery: the answer is complete
	row         pgproto3.DataRow
	errResp     pgproto3.ErrorResponse
}

func (a *answer) reset() {
	row, er := a.row, a.errResp
	*a = answer{row: row, errResp: er}
}

// feed reads the complete messages at the start of buf into a and returns
// how many bytes it consumed. It stops after ReadyForQuery. An error means
// the stream is broken: the connection must be dropped.
func (a *answer) feed(buf []byte) (int, error) {
	p := 0
	for !a.ready && len(buf)-p >= 5 {
		typ := buf[p]
		n := int(binary.BigEndian.Uint32(buf[p+1:]))
		if n < 4 || n > maxMessage {
			return p, fmt.Errorf("protocol error: message %q of length %d", typ, n)
		}
		if len(buf)-p < 1+n {
			break
		}
		body := buf[p+5 : p+1+n]
		p += 1 + n
		if err := a.message(typ, body); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (a *answer) message(typ byte, body []byte) error {
	switch typ {
	case 'D':
		if err := a.row.Decode(body); err != nil {
			return fmt.Errorf("protocol error: %w", err)
		}
		a.rows++
		if a.rows == 1 {
			a.evidence(a.row.Values)
		}
	case 'E':
		if err := a.errResp.Decode(body); err != nil {
			return fmt.Errorf("protocol error: %w", err)
		}
		// The first error is the one that decided the write's fate.
		if a.pgErr == nil {
			a.pgErr = pgconn.ErrorResponseToPgError(&a.errResp)
		}
	case 'Z':
		a.ready = true
	case '2', 'C', 'N', 'S', 'A', 'n', 'I':
		// BindComplete, CommandComplete, notices, parameter changes,
		// notifications, NoData, EmptyQueryResponse: nothing to record.
	default:
		return fmt.Errorf("protocol error: unexpected message %q", typ)
	}
	return nil
}

func (a *answer) evidence(v [][]byte) {
	if len(v) != 2 || len(v[0]) != 8 || len(v[1]) != 8 {
		a.evidenceErr = fmt.Errorf("reading commit evidence: %d columns", len(v))
		return
	}
	a.lsn = history.LSN(binary.BigEndian.Uint64(v[0]))
	a.clock = int64(binary.BigEndian.Uint64(v[1])) + pgEpochMicros
}

// outcome is the write's fate once ready: nil for acknowledged with
// readable evidence, else the error to classify.
func (a *answer) outcome() error {
	if a.pgErr != nil {
		return a.pgErr
	}
	if a.rows != 1 {
		// The statement succeeded but its evidence is missing: unknown.
		return fmt.Errorf("reading commit evidence: %d rows", a.rows)
	}
	return a.evidenceErr
}

// errNoAnswer is the cause of a write whose connection ended before its
// answer was complete.
var errNoAnswer = errors.New("connection lost before the answer")
