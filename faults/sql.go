package faults

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgchaos/pgchaos/operators"
)

// sqlTimeout bounds connecting and one statement of query.
const sqlTimeout = 15 * time.Second

// query runs one SQL statement as superuser on instance in and returns
// its rows, one line each, columns separated by '|'. It uses the superuser
// DSN the monitor already has (Env.Superuser), and falls back to psql by
// pod exec in the instance's container when there is none (a listing, an
// adapter whose images carry psql in the path and trust local sockets).
// d bounds the statement (0: sqlTimeout).
func (e Env) query(ctx context.Context, in operators.Instance, sql string, d time.Duration) (string, error) {
	if d <= 0 {
		d = sqlTimeout
	}
	if dsn := e.Superuser[in.Name]; dsn != "" {
		return queryDSN(ctx, dsn, sql, d)
	}
	if err := needExec(ctx, e); err != nil {
		return "", fmt.Errorf("no superuser DSN for instance %s and %w", in.Name, err)
	}
	ectx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	out, stderr, err := e.Kube.Exec(ectx, e.Cluster.Ref().Namespace, in.Pod, in.Container,
		[]string{"psql", "-X", "-q", "-t", "-A", "-c", sql})
	if err != nil {
		return "", fmt.Errorf("psql in pod %s: %s: %w", in.Pod, strings.TrimSpace(stderr), err)
	}
	return strings.TrimSpace(out), nil
}

// queryDSN connects to dsn and runs sql, within d.
func queryDSN(ctx context.Context, dsn, sql string, d time.Duration) (string, error) {
	qctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	conn, err := pgx.Connect(qctx, dsn)
	if err != nil {
		return "", fmt.Errorf("connecting as superuser: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(qctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", fmt.Errorf("running %q: %w", sql, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return "", fmt.Errorf("reading the rows of %q: %w", sql, err)
		}
		cols := make([]string, len(vals))
		for i, v := range vals {
			cols[i] = fmt.Sprint(v)
		}
		lines = append(lines, strings.Join(cols, "|"))
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("running %q: %w", sql, err)
	}
	return strings.Join(lines, "\n"), nil
}
