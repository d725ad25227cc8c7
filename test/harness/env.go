// Package harness runs a real local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager) and Tollgate itself on loopback
// ports, for the demo and the end-to-end tests. Every process it starts is
// tracked by PID and stopped by Stop or on SIGINT/SIGTERM.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ControlPlaneVersion is the version test/controlplane builds.
const ControlPlaneVersion = "v1.36.3"

// HelmVersion is the helm the make fragment installs into the cache.
const HelmVersion = "v3.22.0"

// CacheDir mirrors CACHE_DIR in make/controlplane.mk.
func CacheDir() string {
	if d := os.Getenv("TOLLGATE_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "tollgate")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "tollgate")
}

// ControlPlaneBin is the directory holding etcd, kube-apiserver,
// kube-controller-manager and kubectl.
func ControlPlaneBin() string {
	if d := os.Getenv("TOLLGATE_CONTROLPLANE_BIN"); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "controlplane", ControlPlaneVersion, "bin")
}

// RepoRoot finds the repository root from this source file, so tests and
// `go run ./test/demo` work from any working directory inside the repo.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// TollgateBin is the tollgate binary under test.
func TollgateBin() string {
	if p := os.Getenv("TOLLGATE_BIN"); p != "" {
		return p
	}
	return filepath.Join(RepoRoot(), "bin", "tollgate")
}

// HelmBin is the pinned helm binary.
func HelmBin() string {
	if p := os.Getenv("TOLLGATE_HELM"); p != "" {
		return p
	}
	return filepath.Join(CacheDir(), "tools", "helm-"+HelmVersion, "helm")
}

// KubectlBin prefers the kubectl built with the control plane so client and
// server versions match; it falls back to kubectl on PATH.
func KubectlBin() string {
	p := filepath.Join(ControlPlaneBin(), "kubectl")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	return p
}

// binary returns the path of a control-plane binary or an error telling the
// user how to build it.
func binary(name string) (string, error) {
	p := filepath.Join(ControlPlaneBin(), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found in %s (run `make controlplane`, or set TOLLGATE_CONTROLPLANE_BIN): %w", name, ControlPlaneBin(), err)
	}
	return p, nil
}

// mustExist checks a binary that is not part of the control plane.
func mustExist(what, path, hint string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s not found at %s (%s): %w", what, path, hint, err)
	}
	return nil
}
