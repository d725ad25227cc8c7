package cli

import (
	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/pkg/policy/policytest"
)

func testCommand(stdio IO) *cobra.Command {
	var verbose, builtin bool
	var reg, regCA string
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run Rego unit tests and fixture suites through the admission pipeline",
		Long: `test runs, for each directory, its *_test.rego files (OPA unit tests, with
Tollgate's builtins) and every fixture case below it (a folder with request.yaml
and want.yaml, optional cluster.yaml, config.yaml and registry.yaml), through the same pipeline
as the webhooks: defaults, then limits, quota and policies. A directory's own
policies are loaded on top of the shipped ones. Exit 1 when any case fails.`,
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if builtin {
				dirs = append(dirs, policytest.Builtin)
			}
			failed, err := policytest.Run(cmd.Context(), dirs, policytest.Options{Verbose: verbose, Out: stdio.Out, Registry: reg, RegistryCA: regCA})
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
	cmd.Flags().StringVar(&reg, "registry", "", "registry fixture for cases without a registry.yaml: an OCI image layout directory or a loopback registry URL")
	cmd.Flags().StringVar(&regCA, "registry-ca", "", "CA file for an https --registry URL")
	cmd.Flags().BoolVar(&builtin, "builtin", false, "also run the Rego tests of the policies shipped in the binary")
	return cmd
}
