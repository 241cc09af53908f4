// Command pgchaos is the command line of the pgchaos harness: it parses
// flags, calls the packages that do the work, prints, and sets exit codes
// (0 every check passed, 1 a check failed, 2 bad input or the harness could
// not do its job).
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

	"github.com/go-logr/logr"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
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

// usageErr is bad input: one line, exit code 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: exitBadInput, msg: fmt.Sprintf(format, args...)}
}

func main() {
	// controller-runtime (the Chaos Mesh client) logs through a process-wide
	// logger and prints a stack trace on stderr when none was set: pgchaos
	// reports its own errors, so its messages are discarded.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "pgchaos: internal error: %v (this is a bug in pgchaos; please report it with the command line)\n", r)
			code = exitBadInput
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr)
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

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "pgchaos",
		Short:         "Chaos and resilience harness for PostgreSQL",
		Long:          "pgchaos drives a write workload that records the fate of every write, injects faults, and proves from evidence whether acknowledged writes were lost, how long writes were unavailable, whether two primaries accepted writes, and whether the WAL history stayed continuous.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%s: %v (see '%s --help')", c.CommandPath(), err, c.CommandPath())
	})
	images := newImagesCmd()
	for _, a := range registry.All() {
		images.AddCommand(newOperatorImagesCmd(a))
	}
	root.AddCommand(newOperatorsCmd(), newWorkloadCmd(), newCheckCmd(), newSelftestCmd(), newClusterCmd(), images, newRunCmd(), newCertifyCmd(), newProfileCmd(), newTargetCmd(), newGamedayCmd(), newCleanupCmd(), newReportCmd(), newAgentCmd(), newFaultsCmd(), newIOFSCmd(), newLatencyCmd())
	return root
}
