// Package cli implements the tollgate command line. It is a package, not
// main, so tests drive exactly the code users run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/pkg/version"
)

// Exit codes shared by the subcommands.
const (
	ExitOK       = 0
	ExitDenied   = 1 // eval: the request is denied; test: a case failed
	ExitBadInput = 2
)

// exitError carries an exit code with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as the user's input being wrong (exit 2).
func badInput(err error) error { return &exitError{code: ExitBadInput, err: err} }

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Run executes the command line args (without the program name) and returns
// the process exit code.
func Run(ctx context.Context, args []string, stdio IO) int {
	root := &cobra.Command{
		Use:           "tollgate",
		Short:         "Admission webhook for Pod resource defaults, quota headroom and image provenance",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.AddCommand(serveCommand(), evalCommand(stdio), testCommand(stdio), checkConfigCommand(stdio), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version.String())
			return err
		},
	})
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stdio.Err, "tollgate: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stdio.Err, "tollgate: %v\n", err)
	return ExitBadInput
}
