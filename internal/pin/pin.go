// Package pin holds blank imports that keep shared dependencies in go.mod
// while the packages that use them are written. Delete once they are all used.
package pin

import (
	_ "github.com/distribution/reference"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/open-policy-agent/opa/v1/rego"
	_ "github.com/open-policy-agent/opa/v1/tester"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "gomodules.xyz/jsonpatch/v2"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/api/resource"
	_ "k8s.io/apiserver/pkg/quota/v1"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/component-helpers/resource"
	_ "sigs.k8s.io/controller-runtime/pkg/webhook"
	_ "sigs.k8s.io/controller-runtime/pkg/certwatcher"
	_ "sigs.k8s.io/yaml"
	_ "github.com/spf13/cobra"
)
