package defaults

import (
	"go/build"
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package a pure decision leaf: no client, no
// transport, no files, no clock.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("read package: %v", err)
	}
	forbidden := []string{"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "net/http", "os", "time", "flag"}
	for _, imp := range pkg.Imports {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("imports %s", imp)
			}
		}
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/client-go") || strings.HasPrefix(dep, "sigs.k8s.io/controller-runtime") {
			t.Errorf("depends on %s", dep)
		}
	}
}
