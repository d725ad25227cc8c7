//go:build tools

// Package kubelet only records the main packages this module builds, so
// `go mod tidy` keeps their dependencies. The node needs a scheduler too: the
// harness's control plane runs none, as no Pod ran there before.
package kubelet

import (
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
