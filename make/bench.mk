# Benchmarks, load and end-to-end latency (issue 8). Nothing here asserts on
# time: numbers are printed (and written to $(BENCH_OUT)/) for people to read.
#
#   make bench         in-process benchmarks, webhook load, e2e Pod create latency and RSS
#   make bench-go      in-process benchmarks only (decisions and HTTP handlers vs the echo floor)
#   make bench-load    webhook load: echo floor, Tollgate in process, bin/tollgate serve
#   make bench-e2e     Pod create latency with and without Tollgate; RSS with 5,000 namespaces
#   make bench-smoke   every benchmark a few iterations (CI smoke; no timing)
#
# On a shared or 2-core machine the req/s and latency columns move with
# everything else running; "server CPU µs/req" and its ratio to the echo
# floor are the steadier figures (see docs/monitoring.md for what is exported).

BENCH_OUT      ?= bin/bench
BENCH_PKGS     ?= ./test/bench/ ./pkg/quota/ ./pkg/policy/ ./test/sigbench/
BENCH_RUN      ?= .
BENCH_TIME     ?= 2s
BENCH_COUNT    ?= 1
LOAD_TARGETS   ?= echo,tollgate,serve
LOAD_CONC      ?= 1,16,64
LOAD_DURATION  ?= 10s
LOAD_REQUESTS  ?= 500000
# Pinned (server on CPU 1 with GOMAXPROCS=1, load generator on CPU 0) and
# HTTP/1.1 keep-alive: what kube-apiserver speaks to a webhook behind a
# Service, and the method of shared/reference/peer-bench.md, so the figures
# compare with Gatekeeper's and OPA's. LOAD_FLAGS= runs unpinned over HTTP/2.
LOAD_FLAGS     ?= $(if $(filter 1,$(shell nproc 2>/dev/null)),,-pin) -http1
E2E_CONC       ?= 1,10,100
E2E_CREATES    ?= 300
RSS_NAMESPACES ?= 5000
E2E_FLAGS      ?=
LOADGEN        := $(BENCH_OUT)/loadgen

.PHONY: bench bench-go bench-load bench-e2e bench-smoke loadgen

## bench: in-process benchmarks, webhook load vs the echo floor, e2e Pod create latency and RSS (~10 min)
bench: bench-go bench-load bench-e2e
	@echo; echo "bench: results in $(BENCH_OUT)/ (go.txt, load.md, e2e.md)"

## bench-go: go test -bench on the decisions and HTTP handlers (BENCH_TIME, BENCH_COUNT, BENCH_RUN)
bench-go:
	@mkdir -p $(BENCH_OUT)
	go test -run '^$$' -bench '$(BENCH_RUN)' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) $(BENCH_PKGS) | tee $(BENCH_OUT)/go.txt
	@echo; echo "| benchmark | ns/op | B/op | allocs/op |"; echo "|---|---:|---:|---:|"; \
	awk '/^Benchmark/ { ns=""; b=""; a=""; for (i = 3; i < NF; i++) { if ($$(i+1) == "ns/op") ns=$$i; if ($$(i+1) == "B/op") b=$$i; if ($$(i+1) == "allocs/op") a=$$i }; \
		printf "| %s | %s | %s | %s |\n", $$1, ns, b, a }' $(BENCH_OUT)/go.txt

## bench-smoke: every benchmark for a few iterations, no timing (CI smoke)
bench-smoke:
	go test -run '^$$' -bench . -benchtime 3x $(BENCH_PKGS)

loadgen:
	@mkdir -p $(BENCH_OUT)
	go build -o $(LOADGEN) ./test/loadgen

## bench-load: webhook load over TLS on loopback (LOAD_TARGETS, LOAD_CONC, LOAD_DURATION, LOAD_FLAGS=-pin|-http1)
bench-load: build loadgen $(if $(findstring serve,$(LOAD_TARGETS)),controlplane)
	$(HARNESS_ENV) $(LOADGEN) http -targets $(LOAD_TARGETS) -concurrency $(LOAD_CONC) -duration $(LOAD_DURATION) \
		-requests $(LOAD_REQUESTS) -markdown $(BENCH_OUT)/load.md $(LOAD_FLAGS)

## bench-e2e: Pod create latency (dry-run and real, E2E_CONC) without and with Tollgate; RSS with RSS_NAMESPACES namespaces (E2E_FLAGS=-tollgate-env=GOMEMLIMIT=60MiB)
bench-e2e: build loadgen controlplane
	$(HARNESS_ENV) $(LOADGEN) e2e -concurrency $(E2E_CONC) -creates $(E2E_CREATES) -rss-namespaces $(RSS_NAMESPACES) \
		-markdown $(BENCH_OUT)/e2e.md $(E2E_FLAGS)
