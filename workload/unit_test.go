package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgchaos/pgchaos/history"
)

type safeErr struct{}

func (safeErr) Error() string     { return "dial refused" }
func (safeErr) SafeToRetry() bool { return true }

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want history.Outcome
	}{
		{"nil", nil, history.OK},
		{"never connected", errNotSent{errors.New("connection refused")}, history.Fail},
		{"safe to retry", fmt.Errorf("insert: %w", safeErr{}), history.Fail},
		{"read-only ERROR", &pgconn.PgError{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "25006"}, history.Fail},
		{"localized ERROR", &pgconn.PgError{Severity: "FEHLER", SeverityUnlocalized: "ERROR", Code: "23505"}, history.Fail},
		{"admin shutdown FATAL", &pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01"}, history.Unknown},
		{"PANIC", &pgconn.PgError{Severity: "PANIC", Code: "XX000"}, history.Unknown},
		{"connection lost", io.ErrUnexpectedEOF, history.Unknown},
		{"timeout", context.DeadlineExceeded, history.Unknown},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("%s: Classify = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	cases := map[string]string{
		"host=a password=secret user=u":           "host=a password=REDACTED user=u",
		"host=a password='se cret' user=u":        "host=a password=REDACTED user=u",
		"postgres://u:secret@h:5432/db":           "postgres://u:REDACTED@h:5432/db",
		"postgresql://u@h/db?password=secret&x=1": "postgresql://u@h/db?password=REDACTED&x=1",
		"host=a user=u":                           "host=a user=u",
	}
	for in, want := range cases {
		got := RedactDSN(in)
		if got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
		un := UnredactDSN(got)
		if _, err := ParseDSN(un, 0); err != nil {
			t.Errorf("UnredactDSN(%q) = %q does not parse: %v", got, un, err)
		}
		if cfg, _ := ParseDSN(un, 0); cfg != nil && cfg.Password == "REDACTED" {
			t.Errorf("UnredactDSN(%q) kept the placeholder password", got)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for _, bad := range []string{"", "host=a port=notaport", "postgres://[::1"} {
		if _, err := ParseDSN(bad, 0); err == nil {
			t.Errorf("ParseDSN(%q) accepted a bad DSN", bad)
		}
	}
	if cfg, _ := ParseDSN("host=a sslmode=prefer", 0); MultiHost(cfg) {
		t.Error("sslmode fallbacks counted as hosts")
	}
	cfg, err := ParseDSN("host=a,b port=1,2 target_session_attrs=read-write", 0)
	if err != nil || !MultiHost(cfg) {
		t.Fatalf("multi-host DSN: %v, %+v", err, cfg)
	}
}

func TestTimelineOfWALFile(t *testing.T) {
	tl, err := TimelineOfWALFile("0000000A0000000000000003")
	if err != nil || tl != 10 {
		t.Errorf("timeline = %d, %v; want 10", tl, err)
	}
	if _, err := TimelineOfWALFile("short"); err == nil {
		t.Error("accepted a bad file name")
	}
}

func TestRangeBuilder(t *testing.T) {
	var b rangeBuilder
	for _, id := range []int64{1, 2, 3, 3, 3, 5, 6, 9} {
		b.add(id)
	}
	r, d, n := b.finish()
	want := []history.IDRange{{First: 1, Last: 3}, {First: 5, Last: 6}, {First: 9, Last: 9}}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("ranges %v, want %v", r, want)
	}
	if len(d) != 1 || d[0] != (history.Duplicate{ID: 3, Count: 3}) || n != 8 {
		t.Errorf("duplicates %v rows %d", d, n)
	}
}

func TestParseTimelineHistory(t *testing.T) {
	h, err := ParseTimelineHistory("1\t0/3000148\tno recovery target specified\n\n2\t0/5000000\tbefore 2000-01-01\n")
	if err != nil || len(h) != 2 || h[0].TLI != 1 || h[0].SwitchLSN != 0x3000148 || h[1].TLI != 2 {
		t.Fatalf("history %+v, %v", h, err)
	}
	if _, err := ParseTimelineHistory("1\n"); err == nil {
		t.Error("accepted a line without switchpoint")
	}
}
