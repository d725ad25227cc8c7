# A real local node for the chart's Pods (issue 17): kubelet and
# kube-scheduler from the same k8s.io/kubernetes module and version as the
# control plane, the CNI plugins, containerd and runc from apt, a locally
# built sandbox image. `make e2e-node` and `make demo-node` need root and are
# not part of `make test`. Binaries are cached like the control plane, keyed
# by version and go.sum content.

NODE_MOD   := test/node/kubelet
NODE_BIN   := $(CACHE_DIR)/node/$(CONTROLPLANE_VERSION)/bin
NODE_SUM   := $(shell cat $(NODE_MOD)/go.sum 2>/dev/null | sha256sum | cut -c1-12)
NODE_STAMP := $(NODE_BIN)/.built-$(NODE_SUM)

CNI_VERSION := v1.10.0
CNI_MOD     := test/node/cni
CNI_BIN     := $(CACHE_DIR)/node/cni-$(CNI_VERSION)/bin
CNI_SUM     := $(shell cat $(CNI_MOD)/go.sum 2>/dev/null | sha256sum | cut -c1-12)
CNI_STAMP   := $(CNI_BIN)/.built-$(CNI_SUM)

PAUSE_IMAGE_TAR := bin/pause-image.tar
# Named as the chart's default values name it (image.repository:appVersion),
# so `helm install` needs no image override; IfNotPresent finds it imported.
NODE_IMAGE_REF  := ghcr.io/tollgate-dev/tollgate:$(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/tollgate/Chart.yaml)
NODE_IMAGE_TAR  := bin/tollgate-node-image.tar

NODE_ENV = $(HARNESS_ENV) TOLLGATE_NODE_BIN=$(NODE_BIN) TOLLGATE_CNI_BIN=$(CNI_BIN) \
	TOLLGATE_PAUSE_IMAGE=$(CURDIR)/$(PAUSE_IMAGE_TAR) TOLLGATE_NODE_IMAGE=$(CURDIR)/$(NODE_IMAGE_TAR)

.PHONY: node-deps node-bin node-images e2e-node demo-node

## node-deps: install containerd and runc with apt-get when missing (root)
node-deps:
	@if ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then \
		echo "node-deps: installing containerd and runc (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd runc; \
	fi
	@containerd --version; runc --version | head -1

## node-bin: build kubelet, kube-scheduler and the CNI plugins into the cache
node-bin: $(NODE_STAMP) $(CNI_STAMP)

$(NODE_STAMP): | $(NODE_MOD)/go.mod $(NODE_MOD)/go.sum
	@mkdir -p $(NODE_BIN)
	@set -e; cd $(NODE_MOD); for b in kubelet kube-scheduler; do \
		echo "node: building $$b $(CONTROLPLANE_VERSION) -> $(NODE_BIN)/$$b"; start=$$(date +%s); \
		GOWORK=off go build -trimpath -ldflags "$(CONTROLPLANE_LDFLAGS)" -o $(NODE_BIN)/.$$b.tmp.$$$$ k8s.io/kubernetes/cmd/$$b; \
		mv $(NODE_BIN)/.$$b.tmp.$$$$ $(NODE_BIN)/$$b; echo "node: $$b done in $$(( $$(date +%s) - start ))s"; \
	done
	@rm -f $(NODE_BIN)/.built-*
	@touch $@

$(CNI_STAMP): | $(CNI_MOD)/go.mod $(CNI_MOD)/go.sum
	@mkdir -p $(CNI_BIN)
	@echo "node: building CNI plugins $(CNI_VERSION) (bridge, host-local, loopback) -> $(CNI_BIN)"
	@cd $(CNI_MOD) && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(CNI_BIN)/ \
		github.com/containernetworking/plugins/plugins/main/bridge \
		github.com/containernetworking/plugins/plugins/main/loopback \
		github.com/containernetworking/plugins/plugins/ipam/host-local
	@rm -f $(CNI_BIN)/.built-*
	@touch $@

## node-images: the sandbox (pause) image and Tollgate's image (`make image`), both built here
node-images: build
	@CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/pause ./test/node/pause
	@cd test/image && GOWORK=off go build -o ../../bin/pause-image-builder ./pause
	@bin/pause-image-builder -binary bin/pause -o $(PAUSE_IMAGE_TAR)
	@$(MAKE) --no-print-directory image IMAGE_REF=$(NODE_IMAGE_REF) IMAGE_TAR=$(NODE_IMAGE_TAR)

## e2e-node: the chart's Pods on a real local node (root; opt-in, not part of `make test`)
e2e-node: build controlplane helm certmanager node-deps node-bin node-images
	$(NODE_ENV) go test -tags e2enode -count=1 -timeout 25m -v $(E2E_FLAGS) ./test/node/

## demo-node: the chart on a real local node: install, admissions, lost replica, upgrades, uninstall; Ctrl-C cleans up
demo-node: build controlplane helm certmanager node-deps node-bin node-images
	@go build -o bin/tollgate-node-demo ./test/node/demo
	@$(NODE_ENV) bin/tollgate-node-demo
