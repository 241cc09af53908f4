package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/spf13/cobra"
)

// defaultIOFSDeadline is the dead man's switch of `pgchaos iofs set`.
const defaultIOFSDeadline = 60 * time.Second

// newIOFSCmd is `pgchaos iofs`: the storage-fault filesystem.
func newIOFSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "iofs",
		Short: "Serve a FUSE passthrough filesystem with live storage faults (latency, ENOSPC) and control it",
		Long: `A FUSE passthrough of a backing directory whose writes and fsyncs can be
delayed, or made to fail with ENOSPC, for paths under a prefix, while it runs.
'serve' mounts it and listens on a unix socket; 'set', 'clear' and 'status'
talk to that socket. Every set carries a deadline: when it passes without a
new set, the server clears the fault by itself.`,
	}
	cmd.AddCommand(newIOFSServeCmd(), newIOFSSetCmd(), newIOFSClearCmd(), newIOFSStatusCmd())
	return cmd
}

// newIOFSServeCmd is `pgchaos iofs serve`.
func newIOFSServeCmd() *cobra.Command {
	var backing, mount, control string
	var mkdir bool
	cmd := &cobra.Command{
		Use:   "serve --backing DIR --mount DIR --control SOCK [--mkdir]",
		Short: "Mount the passthrough of --backing at --mount and serve its control on --control until interrupted",
		Long: `Mounts (as root, allow_other) a passthrough of --backing at --mount and serves
the fault control over HTTP on the unix socket --control until SIGINT or
SIGTERM; then clears the fault, unmounts (lazily if files are still open) and
removes the socket. A dead mount left at --mount by a killed server is
detached first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range []struct{ name, v string }{{"--backing", backing}, {"--mount", mount}, {"--control", control}} {
				if f.v == "" {
					return usageErr("iofs serve: %s is required", f.name)
				}
			}
			if mkdir {
				for _, d := range []string{backing, mount, filepath.Dir(control)} {
					if err := os.MkdirAll(d, 0o755); err != nil {
						return usageErr("iofs serve: creating %s: %v", d, err)
					}
				}
			}
			return serveIOFS(cmd.Context(), cmd, backing, mount, control)
		},
	}
	f := cmd.Flags()
	f.StringVar(&backing, "backing", "", "directory that holds the data")
	f.StringVar(&mount, "mount", "", "mount point (an existing, empty directory)")
	f.StringVar(&control, "control", "", "unix socket of the control")
	f.BoolVar(&mkdir, "mkdir", false, "create --backing, --mount and the socket's directory when absent (the pgchaos-iofs DaemonSet)")
	return cmd
}

func serveIOFS(ctx context.Context, cmd *cobra.Command, backing, mount, control string) (err error) {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	ctl := iofs.NewControl()
	l, err := iofs.Listen(control)
	if err != nil {
		return usageErr("iofs serve: %v", err)
	}
	// A server killed earlier (kill -9 of the agent) left a dead mount here.
	stale, err := iofs.UnmountStale(mount)
	if err != nil {
		_ = l.Close()
		return usageErr("iofs serve: %v", err)
	}
	for _, p := range stale {
		fmt.Fprintf(cmd.OutOrStdout(), "detached the dead mount %s of an earlier server\n", p)
	}
	m, err := iofs.New(backing, mount, ctl)
	if err != nil {
		_ = l.Close()
		return usageErr("iofs serve: %v", err)
	}
	defer func() {
		ctl.Close()
		if uerr := m.Unmount(); uerr != nil {
			err = errors.Join(err, usageErr("iofs serve: %v", uerr))
		}
	}()
	fmt.Fprintf(cmd.OutOrStdout(), "serving %s at %s; control on %s\n", m.Backing, m.Dir, control)
	if err := iofs.Serve(ctx, l, ctl, log); err != nil {
		return usageErr("iofs serve: %v", err)
	}
	return nil
}

// newIOFSSetCmd is `pgchaos iofs set`.
func newIOFSSetCmd() *cobra.Command {
	var control, delayPrefix, enospc, reason string
	var writeDelay, fsyncDelay, deadline time.Duration
	cmd := &cobra.Command{
		Use:   "set --control SOCK [--write-delay D] [--fsync-delay D] [--delay-prefix P] [--enospc P] [--deadline D]",
		Short: "Put a storage fault in force until --deadline (replacing the one in force)",
		Long: `Prefixes are relative to the mount's root ("pg_wal/", "pgdata/pg_wal/"); "/"
or "" means every path. --enospc PREFIX makes writes, creates and fallocate
under PREFIX fail with ENOSPC. The fault clears itself when --deadline passes
without a new set: repeat the set to keep it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if control == "" {
				return usageErr("iofs set: --control is required")
			}
			spec := iofs.Spec{WriteDelay: writeDelay, FsyncDelay: fsyncDelay, DelayPrefix: iofs.CleanPrefix(delayPrefix),
				ENOSPC: cmd.Flags().Changed("enospc"), ENOSPCPrefix: iofs.CleanPrefix(enospc)}
			if err := spec.Validate(); err != nil {
				return usageErr("iofs set: %v", err)
			}
			if spec.Empty() {
				return usageErr("iofs set: nothing to set (give --write-delay, --fsync-delay or --enospc; 'pgchaos iofs clear' clears)")
			}
			if deadline <= 0 || deadline > iofs.MaxTTL {
				return usageErr("iofs set: --deadline %s out of range (0, %s]", deadline, iofs.MaxTTL)
			}
			st, err := iofs.NewClient(control).Set(cmd.Context(), spec, deadline, reason)
			if err != nil {
				return usageErr("iofs set: %v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "set %s until %s\n", spec, st.Deadline.Format(time.RFC3339Nano))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&control, "control", "", "unix socket of the control")
	f.DurationVar(&writeDelay, "write-delay", 0, "added to every write request")
	f.DurationVar(&fsyncDelay, "fsync-delay", 0, "added to every fsync and fdatasync")
	f.StringVar(&delayPrefix, "delay-prefix", "", "delays only under this prefix (default: every path)")
	f.StringVar(&enospc, "enospc", "", "ENOSPC on writes and creates under this prefix (\"/\": every path)")
	f.DurationVar(&deadline, "deadline", defaultIOFSDeadline, "the fault clears itself after this long without a new set")
	f.StringVar(&reason, "reason", "pgchaos iofs set", "recorded with the change")
	return cmd
}

// newIOFSClearCmd is `pgchaos iofs clear`.
func newIOFSClearCmd() *cobra.Command {
	var control, reason string
	cmd := &cobra.Command{
		Use:   "clear --control SOCK",
		Short: "Clear the storage fault in force",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if control == "" {
				return usageErr("iofs clear: --control is required")
			}
			if _, err := iofs.NewClient(control).Clear(cmd.Context(), reason); err != nil {
				return usageErr("iofs clear: %v", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "cleared")
			return nil
		},
	}
	cmd.Flags().StringVar(&control, "control", "", "unix socket of the control")
	cmd.Flags().StringVar(&reason, "reason", "pgchaos iofs clear", "recorded with the change")
	return cmd
}

// newIOFSStatusCmd is `pgchaos iofs status`.
func newIOFSStatusCmd() *cobra.Command {
	var control string
	cmd := &cobra.Command{
		Use:   "status --control SOCK",
		Short: "Print the fault in force and every change so far (JSON)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if control == "" {
				return usageErr("iofs status: --control is required")
			}
			st, err := iofs.NewClient(control).State(cmd.Context())
			if err != nil {
				return usageErr("iofs status: %v", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		},
	}
	cmd.Flags().StringVar(&control, "control", "", "unix socket of the control")
	return cmd
}
