package cli

import (
	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/pkg/policy/policytest"
)

func testCommand(stdio IO) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run Rego unit tests and fixture suites through the admission pipeline",
		RunE: func(cmd *cobra.Command, dirs []string) error {
			failed, err := policytest.Run(cmd.Context(), dirs, policytest.Options{Verbose: verbose, Out: stdio.Out})
			if err != nil {
				return badInput(err)
			}
			if failed {
				return &exitError{code: ExitDenied}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show every case, not only failures")
	return cmd
}
