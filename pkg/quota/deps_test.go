package quota

import (
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// quotaArithmetic is k8s.io/apiserver's quota helper package. It is used on
// purpose (Add, Subtract, Mask, LessThanOrEqual… are the in-tree plugin's
// own arithmetic), and it alone drags client-go in through its interfaces.
const quotaArithmetic = "k8s.io/apiserver/pkg/quota/v1"

// TestImports keeps the package a pure decision leaf: no client, no
// transport, no files, no wall clock.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("read package: %v", err)
	}
	forbidden := []string{"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "net/http", "os", "flag"}
	for _, imp := range pkg.Imports {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("imports %s", imp)
			}
		}
	}
	for _, name := range pkg.GoFiles {
		src, err := os.ReadFile(filepath.Join(".", name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "time.Now") {
			t.Errorf("%s reads the wall clock; inject a clock instead", name)
		}
	}
	ours := deps(t, ".")
	theirs := map[string]bool{}
	for _, d := range deps(t, quotaArithmetic) {
		theirs[d] = true
	}
	for _, d := range ours {
		if strings.HasPrefix(d, "sigs.k8s.io/controller-runtime") || strings.HasPrefix(d, "k8s.io/client-go") && !theirs[d] {
			t.Errorf("depends on %s", d)
		}
	}
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	return strings.Fields(string(out))
}
