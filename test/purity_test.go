package test

import (
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// decisionPackages are pure: typed in, value out. They import no client,
// transport, files, flags or wall clock, so they run the same in the
// webhook, in eval and in tests.
var decisionPackages = []string{"verdict", "provenance", "apidefaults", "defaults", "quota", "imageref", "podimages", "workload", "policy", "pinning"}

// quotaArithmetic is k8s.io/apiserver's quota helper package, used on
// purpose by pkg/quota (it is the in-tree plugin's own arithmetic); it alone
// drags client-go in, through its interfaces.
const quotaArithmetic = "k8s.io/apiserver/pkg/quota/v1"

func TestDecisionPackagesArePure(t *testing.T) {
	allowed := map[string]bool{}
	for _, d := range goListDeps(t, quotaArithmetic) {
		allowed[d] = true
	}
	forbidden := []string{"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "net/http", "os", "flag"}
	for _, name := range decisionPackages {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "pkg", name)
			pkg, err := build.ImportDir(dir, 0)
			if err != nil {
				t.Fatalf("read package: %v", err)
			}
			for _, imp := range pkg.Imports {
				for _, f := range forbidden {
					if imp == f || strings.HasPrefix(imp, f+"/") {
						t.Errorf("imports %s", imp)
					}
				}
			}
			for _, file := range pkg.GoFiles {
				if name == "policy" && file == "evaluate.go" {
					continue // times each evaluation for the metrics observer; no decision reads it
				}
				src, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(src), "time.Now()") {
					t.Errorf("%s reads the wall clock; inject a clock instead", file)
				}
			}
			// Indirectly too: only the quota arithmetic may bring client-go.
			for _, dep := range goListDeps(t, "./"+filepath.ToSlash(dir)) {
				if strings.HasPrefix(dep, "sigs.k8s.io/controller-runtime") || strings.HasPrefix(dep, "k8s.io/client-go") && !allowed[dep] {
					t.Errorf("depends on %s", dep)
				}
			}
		})
	}
}

func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}
