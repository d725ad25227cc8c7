# cert-manager for the e2e tests and the node demo (issue 17): our own small
# main in test/certmanager over cert-manager's library packages (its command
# modules are not on the Go module proxy). Cached outside the repo like the
# control plane, keyed by version and go.sum content, so every checkout and
# worktree shares one build.

CERTMANAGER_VERSION := v1.20.3
CERTMANAGER_MOD     := test/certmanager
CERTMANAGER_DIR     := $(CACHE_DIR)/certmanager/$(CERTMANAGER_VERSION)
CERTMANAGER_SUM     := $(shell cat $(CERTMANAGER_MOD)/go.sum $(CERTMANAGER_MOD)/*.go 2>/dev/null | sha256sum | cut -c1-12)
CERTMANAGER_BIN     := $(CERTMANAGER_DIR)/certmanager-$(CERTMANAGER_SUM)

.PHONY: certmanager

## certmanager: build the test cert-manager controller (issuers, certificates, CA injector) into the cache
certmanager: $(CERTMANAGER_BIN)

$(CERTMANAGER_BIN): | $(CERTMANAGER_MOD)/go.mod $(CERTMANAGER_MOD)/go.sum
	@mkdir -p $(CERTMANAGER_DIR)
	@echo "certmanager: building cert-manager $(CERTMANAGER_VERSION) controllers -> $@"
	@start=$$(date +%s); cd $(CERTMANAGER_MOD) && \
		GOWORK=off go build -trimpath -ldflags "-s -w" -o $@.tmp.$$$$ . && mv $@.tmp.$$$$ $@; \
		echo "certmanager: done in $$(( $$(date +%s) - start ))s"
