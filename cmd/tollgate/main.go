// Command tollgate serves Tollgate's admission webhooks and runs its
// decisions offline (eval, test).
package main

import (
	"context"
	"os"

	"github.com/tollgate-dev/tollgate/pkg/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
