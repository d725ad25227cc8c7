# Helm chart, TLS material and container image checks (issue 6).
# HELM and the `helm` target come from controlplane.mk.

CHART_DIR      := charts/tollgate
CERTS_OUT      ?= certs/local
CERTS_HOSTS    ?= 127.0.0.1,localhost,tollgate.tollgate-system.svc,tollgate.tollgate-system.svc.cluster.local
IMAGE          ?= ghcr.io/tollgate-dev/tollgate:$(or $(VERSION),dev)

.PHONY: chart-test chart-e2e chart-lint chart-template certs image-check dockerfile-lint docker-build

## chart-test: render the chart over a matrix of values, check schema rejections and helm lint (offline)
chart-test: helm
	HELM=$(HELM) go test -count=1 ./test/chart/...

## chart-e2e: server-side dry run of the chart's renderings against a real kube-apiserver, then helm install
chart-e2e: controlplane helm
	HELM=$(HELM) TOLLGATE_HELM=$(HELM) TOLLGATE_CONTROLPLANE_BIN=$(CONTROLPLANE_BIN) go test -tags e2e -count=1 -timeout 10m -run TestAPIServerAcceptsRenderings ./test/chart/...

## chart-lint: helm lint --strict in each TLS mode
chart-lint: helm
	HELM=$(HELM) go test -count=1 -run 'TestLint' ./test/chart/...

## chart-template: print the chart rendered with its defaults
chart-template: helm
	@$(HELM) template tollgate $(CHART_DIR) --namespace tollgate-system

## certs: write a throwaway CA and serving certificate to certs/local (gitignored)
certs:
	go run ./certs/gen -out $(CERTS_OUT) -hosts $(CERTS_HOSTS)

## image-check: build the binary as the Dockerfile does; check it is static and runs unprivileged on a read-only dir, and that `make image` agrees with the Dockerfile
image-check: image
	TOLLGATE_IMAGE_CHECK=1 TOLLGATE_IMAGE_TAR=$(CURDIR)/$(IMAGE_TAR) go test -count=1 -timeout 30m -run 'TestDocker|TestImageBinary|TestImageTarball' -v ./test/chart/...

## dockerfile-lint: lint the Dockerfile (hadolint is not packaged for Debian; this uses dockerfile-utils from npm)
dockerfile-lint:
	npx --yes dockerfile-utils@0.16.3 lint Dockerfile

## docker-build: build the container image (needs a Docker/BuildKit engine)
docker-build:
	docker buildx build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .
