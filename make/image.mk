# The container image without Docker (issue 17): bin/tollgate plus the
# non-root user in one layer, written as a tarball for `ctr images import`.

IMAGE_TAR ?= bin/tollgate-image.tar
IMAGE_REF ?= ghcr.io/tollgate-dev/tollgate:dev

.PHONY: image

## image: build Tollgate's image without Docker (go-containerregistry) into bin/tollgate-image.tar
image: build
	@cd test/image && GOWORK=off go build -o ../../bin/tollgate-image-builder .
	bin/tollgate-image-builder -binary bin/tollgate -ref $(IMAGE_REF) -o $(IMAGE_TAR) -version $(VERSION) -commit $(COMMIT)
