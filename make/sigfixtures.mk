COSIGN ?= $(HOME)/.cache/tollgate/tools/cosign-v3.1.3/cosign

.PHONY: sig-fixtures

## sig-fixtures: regenerate test/fixtures/signatures/registry with the real cosign (make cosign first)
sig-fixtures:
	go run ./test/sigfixtures -cosign $(COSIGN) -out test/fixtures/signatures/registry
