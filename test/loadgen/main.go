// Command loadgen measures Tollgate's webhooks under load, as ratios to an
// echo floor served by the same stack.
//
//	loadgen http [flags]   load the webhook endpoints over TLS on loopback:
//	                       echo floor, Tollgate in process (workload facts, no
//	                       API server) and/or a real `tollgate serve` against a
//	                       local control plane; prints throughput and latency
//	loadgen e2e [flags]    Pod create latency through a real kube-apiserver,
//	                       without a webhook and with Tollgate registered; then
//	                       Tollgate's RSS with 5,000 namespaces cached
//	loadgen flood [flags]  small Pod creates from one namespace beside a flood
//	                       of large dry-run Pods from another, in process:
//	                       their p99 without the flood, with it, and bounded
//	loadgen serve [flags]  (internal) serve the echo floor or the in-process
//	                       webhooks; `http` starts it as a child process
//
// Every server listens on 127.0.0.1 on a free port, every child process is
// stopped by PID, and every run is bounded in requests and time.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "http":
		err = cmdHTTP(os.Args[2:])
	case "e2e":
		err = cmdE2E(os.Args[2:])
	case "serve":
		err = cmdServe(os.Args[2:])
	case "flood":
		err = cmdFlood(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen http|e2e|flood|serve [flags]   (loadgen <cmd> -h for flags)")
	os.Exit(2)
}
