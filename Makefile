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

## test-policies: Rego unit tests, and every fixture through `tollgate test`, as policy authors run them
test-policies: build
	bin/tollgate test policies/ test/fixtures/

## verify-deps: decision packages import no client, transport, files or flags (test/purity_test.go)
verify-deps:
	go test -count=1 -run TestDecisionPackagesArePure ./test/

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(UNIT_PKGS)

## fmt: format the Go code
fmt:
	gofmt -w $$(git ls-files '*.go')
