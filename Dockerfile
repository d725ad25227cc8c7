# syntax=docker/dockerfile:1
#
# Build:  docker buildx build --build-arg VERSION=$(git describe --tags --always) \
#           --build-arg COMMIT=$(git rev-parse HEAD) -t tollgate .
# `make image-check` builds the binary with the same flags without a container engine and
# checks that it is static and runs as UID 65532 from a read-only directory.

# Builder. The tag follows the go directive in go.mod; pin it by digest in release builds.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules first, in their own layer, so source edits do not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

# The source. .dockerignore is an allowlist (cmd/, pkg/, internal/, policies/), so this copies
# only what the binary is built from; policies/ is embedded into it.
COPY . .

ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
# Keep these flags in step with test/chart/image_test.go, which checks them.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X github.com/tollgate-dev/tollgate/pkg/version.Version=${VERSION} -X github.com/tollgate-dev/tollgate/pkg/version.Commit=${COMMIT}" \
      -o /out/tollgate ./cmd/tollgate

# Runtime: no shell, no package manager, CA certificates and /etc/passwd with "nonroot" (65532).
# The digest below was taken from public Dockerfiles that pin gcr.io/distroless/static:nonroot;
# it could not be checked against the registry from the machine this file was written on.
# Verify before a release: crane digest gcr.io/distroless/static:nonroot
FROM gcr.io/distroless/static:nonroot@sha256:1c2c046bc09ed40fad370b599a0b1ae7987f55b01e247cf27a7c27cd97e5bbc7

ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="tollgate" \
      org.opencontainers.image.description="Kubernetes admission webhooks: resource defaults, quota headroom and Rego image policies" \
      org.opencontainers.image.source="https://github.com/tollgate-dev/tollgate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"

COPY --from=build /out/tollgate /tollgate
USER 65532:65532
# 9443 webhook (HTTPS), 8080 metrics, 8081 health probes.
EXPOSE 9443 8080 8081
ENTRYPOINT ["/tollgate"]
CMD ["serve"]
