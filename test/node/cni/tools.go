//go:build tools

// Package cni only records the main packages this module builds, so
// `go mod tidy` keeps their dependencies.
package cni

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
)
