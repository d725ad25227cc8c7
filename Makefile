# Tollgate. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
MAKEFLAGS += --no-builtin-rules
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.SUFFIXES:

MODULE  := github.com/tollgate-dev/tollgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(MODULE)/pkg/version.Version=$(VERSION) -X $(MODULE)/pkg/version.Commit=$(COMMIT)
# Packages that need no cluster (e2e has its own target and build tag).
UNIT_PKGS := ./cmd/... ./pkg/... ./policies/... ./test/...
# Pure decision packages (see verify-deps). pkg/quota is checked for its own
# imports only: k8s.io/apiserver/pkg/quota/v1, whose arithmetic it reuses,
# itself imports client-go listers.
DECISION_PKGS := ./pkg/verdict ./pkg/defaults ./pkg/imageref
PURE_IMPORTS_PKGS := $(DECISION_PKGS) ./pkg/quota ./pkg/policy

include make/*.mk

.PHONY: help build test test-unit test-policies lint fmt verify-deps

## help: list the targets
help:
	@grep -hE '^## [a-zA-Z0-9_-]+:' $(MAKEFILE_LIST) | sed 's/^## //' | awk -F': ' '{printf "  %-16s %s\n", $$1, $$2}'

## build: build bin/tollgate (static, version stamped)
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/tollgate ./cmd/tollgate

## test: everything; unit and fixture tests (-race), policy tests, chart tests, image check, benchmark smoke, then e2e on a real control plane
test: test-unit test-policies chart-test image-check bench-smoke e2e

## test-unit: unit, fixture and offline tests with the race detector (no cluster)
test-unit: verify-deps
	go test -race -count=1 $(UNIT_PKGS)

## test-policies: Rego unit tests and policy fixtures, as policy authors run them
test-policies: build
	bin/tollgate test policies/

## verify-deps: decision packages import no client-go or controller-runtime (even indirectly), and no net/http or os themselves
verify-deps:
	@bad=$$(go list -deps $(DECISION_PKGS) | grep -E '^(k8s.io/client-go|sigs.k8s.io/controller-runtime)(/|$$)' || true); \
	direct=$$(go list -f '{{.ImportPath}}: {{join .Imports " "}}' $(PURE_IMPORTS_PKGS) | grep -E ' (net/http|os|flag|k8s.io/client-go[^ ]*|sigs.k8s.io/controller-runtime[^ ]*)( |$$)' || true); \
	if [ -n "$$bad$$direct" ]; then echo "decision packages import forbidden packages:"; echo "$$bad"; echo "$$direct"; exit 1; fi; \
	echo "verify-deps: decision packages are pure"

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(UNIT_PKGS)

## fmt: format the Go code
fmt:
	gofmt -w $$(git ls-files '*.go')
