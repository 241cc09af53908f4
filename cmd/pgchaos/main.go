// Command pgchaos is the command line of the pgchaos harness. In this branch it
// carries only the cluster and images commands (cluster.go, images.go); the
// shared root command, exit codes and helpers below mirror the main CLI so the
// two files merge into it unchanged.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes: a contract (DESIGN.md).
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
)

// exitError carries an exit code and the one line to print.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "pgchaos",
		Short:         "Chaos and resilience harness for PostgreSQL",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newClusterCmd(), newImagesCmd())
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "pgchaos: "+oneLine(ee.msg))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "pgchaos: "+oneLine(err.Error()))
	return exitBadInput
}

// oneLine keeps error output to a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
