package workload

import (
	"errors"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgchaos/pgchaos/history"
)

// errNotSent marks errors that happened before the write left the client
// (no connection could be made): the write certainly did not happen.
type errNotSent struct{ err error }

func (e errNotSent) Error() string { return "not sent: " + e.err.Error() }
func (e errNotSent) Unwrap() error { return e.err }

// Classify maps the error of one write to its outcome:
//   - nil: OK.
//   - an error that certainly happened before anything was sent
//     (pgconn.SafeToRetry, or no connection): Fail.
//   - a server error of severity ERROR: the transaction was aborted, so the
//     write was not applied: Fail.
//   - anything else (connection lost, timeout, FATAL or PANIC from the
//     server, which can arrive after a local commit, e.g. while waiting for a
//     synchronous standby): Unknown.
func Classify(err error) history.Outcome {
	if err == nil {
		return history.OK
	}
	var ns errNotSent
	if errors.As(err, &ns) {
		return history.Fail
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		sev := pgErr.SeverityUnlocalized
		if sev == "" {
			sev = pgErr.Severity
		}
		if strings.EqualFold(sev, "ERROR") {
			return history.Fail
		}
		return history.Unknown
	}
	if pgconn.SafeToRetry(err) {
		return history.Fail
	}
	return history.Unknown
}

var (
	kvPassword  = regexp.MustCompile(`(?i)((?:^|\s)password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	urlPassword = regexp.MustCompile(`(?i)^(postgres(?:ql)?://[^:/@]*:)([^@]*)(@)`)
	urlParam    = regexp.MustCompile(`(?i)([?&]password=)([^&]*)`)
)

// RedactDSN removes passwords from a connection string so it can be stored
// in a trial directory and printed.
func RedactDSN(dsn string) string {
	s := kvPassword.ReplaceAllString(dsn, "${1}REDACTED")
	s = urlPassword.ReplaceAllString(s, "${1}REDACTED${3}")
	return urlParam.ReplaceAllString(s, "${1}REDACTED")
}

var (
	redactedKV    = regexp.MustCompile(`(?i)password\s*=\s*REDACTED&?`)
	danglingQuery = regexp.MustCompile(`[?&]$`)
)

// UnredactDSN removes a redacted password from a stored connection string, so
// that the password comes from PGPASSWORD or the password file instead.
func UnredactDSN(dsn string) string {
	s := strings.Replace(dsn, ":REDACTED@", "@", 1)
	s = redactedKV.ReplaceAllString(s, "")
	return strings.TrimSpace(danglingQuery.ReplaceAllString(s, ""))
}

// MultiHost reports whether a parsed DSN names more than one server.
func MultiHost(cfg *pgx.ConnConfig) bool {
	for _, f := range cfg.Fallbacks {
		if f.Host != cfg.Host || f.Port != cfg.Port {
			return true
		}
	}
	return false
}
