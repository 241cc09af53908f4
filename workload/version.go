package workload

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ServerVersion asks the server at dsn for its version (SHOW
// server_version), waiting at most timeout: "15.14 (Debian 15.14-0+deb12u1)".
func ServerVersion(ctx context.Context, dsn string, timeout time.Duration) (string, error) {
	cc, err := ParseDSN(dsn, timeout)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return "", fmt.Errorf("asking %s for its version: %w", cc.Host, explainConnect(cc, err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("asking %s for its version: %w", cc.Host, err)
	}
	return v, nil
}
