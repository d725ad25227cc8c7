package harness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Result is what a user sees from one CLI invocation.
type Result struct {
	Stdout, Stderr string
	Err            error
}

// Output is stdout and stderr together, as in a terminal.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// Kubectl runs kubectl against kubeconfig with stdin (may be empty).
func Kubectl(ctx context.Context, kubeconfig, stdin string, args ...string) Result {
	return run(ctx, KubectlBin(), append([]string{"--kubeconfig=" + kubeconfig}, args...), stdin)
}

// Helm runs the pinned helm against kubeconfig (may be empty for template).
func Helm(ctx context.Context, kubeconfig string, args ...string) Result {
	if kubeconfig != "" {
		args = append([]string{"--kubeconfig=" + kubeconfig}, args...)
	}
	return run(ctx, HelmBin(), args, "")
}

func run(ctx context.Context, bin string, args []string, stdin string) Result {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}
