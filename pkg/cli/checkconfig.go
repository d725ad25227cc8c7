package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/pkg/loader"
)

// ExitInvalid is check-config's answer for a config that would not load.
const ExitInvalid = 1

func checkConfigCommand(stdio IO) *cobra.Command {
	var src loader.Sources
	cmd := &cobra.Command{
		Use:   "check-config FILE [--policies DIR ...]",
		Short: "Check that a config file (and policy directories) would load, as a replica loads them",
		Long: `check-config loads FILE and the policies exactly as 'tollgate serve' does at
start and on reload, and prints the error a replica would log. Use it in CI and in
a Helm pre-upgrade hook, so a bad config never reaches a replica.
Exit code: 0 the config loads, 1 it does not, 2 bad usage.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.ConfigFile = args[0]
			st, err := loader.Load(cmd.Context(), src)
			if err != nil {
				return &exitError{code: ExitInvalid, err: err}
			}
			_, err = fmt.Fprintf(stdio.Out, "%s: ok (policies: %s)\n", args[0], strings.Join(st.Policies.Policies(), ", "))
			return err
		},
	}
	cmd.Flags().StringArrayVar(&src.PolicyDirs, "policies", nil, "directory of .rego policies, as passed to serve (repeatable)")
	cmd.Flags().BoolVar(&src.NoBuiltinPolicies, "no-builtin-policies", false, "do not load the policies shipped in the binary")
	return cmd
}
