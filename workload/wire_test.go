package workload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgchaos/pgchaos/history"
)

func encode(t *testing.T, msgs ...pgproto3.BackendMessage) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestAnswer feeds the answers a server can give to one write, whole and a
// byte at a time, and checks the outcome each one must lead to.
func TestAnswer(t *testing.T) {
	// Binary evidence: pg_lsn 0/3000148, timestamptz 1763769600123456 Unix µs.
	lsn, clk := make([]byte, 8), make([]byte, 8)
	binary.BigEndian.PutUint64(lsn, 0x3000148)
	binary.BigEndian.PutUint64(clk, uint64(1763769600123456-pgEpochMicros))
	row := &pgproto3.DataRow{Values: [][]byte{lsn, clk}}
	ok := []pgproto3.BackendMessage{&pgproto3.BindComplete{}, row, &pgproto3.CommandComplete{CommandTag: []byte("INSERT 0 1")}, &pgproto3.ReadyForQuery{TxStatus: 'I'}}
	cases := []struct {
		name  string
		msgs  []pgproto3.BackendMessage
		ready bool
		want  history.Outcome
	}{
		{"acknowledged", ok, true, history.OK},
		{"acknowledged with a notice first", append([]pgproto3.BackendMessage{&pgproto3.NoticeResponse{Severity: "WARNING", Message: "x"}}, ok...), true, history.OK},
		{"ERROR: aborted, not applied", []pgproto3.BackendMessage{&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "25006", Message: "read-only"}, &pgproto3.ReadyForQuery{TxStatus: 'I'}}, true, history.Fail},
		{"committed but no evidence row", []pgproto3.BackendMessage{&pgproto3.BindComplete{}, &pgproto3.CommandComplete{CommandTag: []byte("INSERT 0 1")}, &pgproto3.ReadyForQuery{TxStatus: 'I'}}, true, history.Unknown},
		{"evidence with a NULL", []pgproto3.BackendMessage{&pgproto3.BindComplete{}, &pgproto3.DataRow{Values: [][]byte{nil, nil}}, &pgproto3.CommandComplete{}, &pgproto3.ReadyForQuery{TxStatus: 'I'}}, true, history.Unknown},
		{"incomplete: no ReadyForQuery yet", ok[:3], false, history.Pending},
	}
	for _, tc := range cases {
		b := encode(t, tc.msgs...)
		for _, split := range []bool{false, true} {
			var a answer
			var in []byte
			step := len(b)
			if split {
				step = 1
			}
			for k := 0; k < len(b); k += step {
				in = append(in, b[k:min(k+step, len(b))]...)
				n, err := a.feed(in)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				in = in[:copy(in, in[n:])]
			}
			if a.ready != tc.ready {
				t.Errorf("%s (split %v): ready %v, want %v", tc.name, split, a.ready, tc.ready)
				continue
			}
			if !tc.ready {
				if len(in) != 0 {
					t.Errorf("%s: %d bytes of complete messages left unread", tc.name, len(in))
				}
				continue
			}
			if got := Classify(a.outcome()); got != tc.want {
				t.Errorf("%s (split %v): outcome %s (%v), want %s", tc.name, split, got, a.outcome(), tc.want)
			}
			if tc.want == history.OK && (a.lsn.String() != "0/3000148" || a.clock != 1763769600123456) {
				t.Errorf("%s: evidence %q %d", tc.name, a.lsn, a.clock)
			}
		}
	}
}

// TestAnswerBrokenStream: a length no answer can have, or a message no
// answer holds, breaks the stream.
func TestAnswerBrokenStream(t *testing.T) {
	for name, b := range map[string][]byte{
		"huge length":        {'D', 0x7f, 0, 0, 0},
		"length below 4":     {'C', 0, 0, 0, 2},
		"unexpected message": encode(t, &pgproto3.CopyInResponse{}),
	} {
		var a answer
		if _, err := a.feed(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestAppendWrite: a server reads the request as Bind (of the prepared
// statement, with the parameters), Execute and Sync, and nothing more.
func TestAppendWrite(t *testing.T) {
	params := [][]byte{[]byte("7"), []byte("42"), []byte("3")}
	be := pgproto3.NewBackend(bytes.NewReader(appendWrite(nil, insertStmt, params)), nil)
	var got []string
	for {
		m, err := be.Receive()
		if err != nil {
			break
		}
		switch m := m.(type) {
		case *pgproto3.Bind:
			got = append(got, fmt.Sprintf("bind %s %q results %v", m.PreparedStatement, m.Parameters, m.ResultFormatCodes))
		case *pgproto3.Execute:
			got = append(got, fmt.Sprintf("execute %q %d", m.Portal, m.MaxRows))
		default:
			got = append(got, fmt.Sprintf("%T", m))
		}
	}
	want := []string{`bind pgchaos_write ["7" "42" "3"] results [1]`, `execute "" 0`, "*pgproto3.Sync"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("server reads %q, want %q", got, want)
	}
}
