# Registry-side tools for issue 16 (image provenance): the CNCF Distribution
# registry, crane and cosign. Each is its own Go module under tools/<name>, so
# none of their dependencies reach Tollgate's go.mod. Binaries live in the
# shared cache like the control plane: $(CACHE_DIR)/tools/<name>-<version>/<name>,
# with a stamp keyed by the module's go.sum content, so a fresh clone or another
# worktree reuses them. Cold builds on 2 cores: see docs/provenance-tools.md.

REGISTRY_VERSION := v3.1.2
CRANE_VERSION    := v0.22.1
COSIGN_VERSION   := v3.1.3

tool_dir   = $(CACHE_DIR)/tools/$(1)-$(2)
tool_sum   = $(shell cat tools/$(1)/go.sum 2>/dev/null | sha256sum | cut -c1-12)
tool_stamp = $(call tool_dir,$(1),$(2))/.built-$(call tool_sum,$(1))

REGISTRY_BIN := $(call tool_dir,registry,$(REGISTRY_VERSION))/registry
CRANE_BIN    := $(call tool_dir,crane,$(CRANE_VERSION))/crane
COSIGN_BIN   := $(call tool_dir,cosign,$(COSIGN_VERSION))/cosign

REGISTRY_STAMP := $(call tool_stamp,registry,$(REGISTRY_VERSION))
CRANE_STAMP    := $(call tool_stamp,crane,$(CRANE_VERSION))
COSIGN_STAMP   := $(call tool_stamp,cosign,$(COSIGN_VERSION))

# Passed to the harness, the demo and e2e tests (added to HARNESS_ENV users below).
TOOLS_ENV := TOLLGATE_REGISTRY_BIN=$(REGISTRY_BIN) TOLLGATE_CRANE_BIN=$(CRANE_BIN) TOLLGATE_COSIGN_BIN=$(COSIGN_BIN)

.PHONY: tools registry-tool crane cosign

## tools: build the registry, crane and cosign into the cache (cold: several minutes, cosign the longest)
tools: registry-tool crane cosign

## registry-tool: build the CNCF Distribution registry into the cache
registry-tool: $(REGISTRY_STAMP)
## crane: build crane (go-containerregistry) into the cache
crane: $(CRANE_STAMP)
## cosign: build the cosign CLI into the cache
cosign: $(COSIGN_STAMP)

# build_tool name,version,package: build into a temp file, move into place,
# then stamp. Order-only prerequisites: the stamp name carries the go.sum hash.
define build_tool
	@mkdir -p $(call tool_dir,$(1),$(2))
	@echo "tools: building $(1) $(2) -> $(call tool_dir,$(1),$(2))/$(1)"
	@start=$$(date +%s); cd tools/$(1) && \
		GOWORK=off go build -trimpath -ldflags "-s -w" -o $(call tool_dir,$(1),$(2))/.$(1).tmp.$$$$ $(3) && \
		mv $(call tool_dir,$(1),$(2))/.$(1).tmp.$$$$ $(call tool_dir,$(1),$(2))/$(1) && \
		echo "tools: $(1) done in $$(( $$(date +%s) - start ))s"
	@rm -f $(call tool_dir,$(1),$(2))/.built-*
	@touch $@
endef

$(REGISTRY_STAMP): | tools/registry/go.mod tools/registry/go.sum
	$(call build_tool,registry,$(REGISTRY_VERSION),github.com/distribution/distribution/v3/cmd/registry)

$(CRANE_STAMP): | tools/crane/go.mod tools/crane/go.sum
	$(call build_tool,crane,$(CRANE_VERSION),github.com/google/go-containerregistry/cmd/crane)

$(COSIGN_STAMP): | tools/cosign/go.mod tools/cosign/go.sum
	$(call build_tool,cosign,$(COSIGN_VERSION),github.com/sigstore/cosign/v3/cmd/cosign)
