package bench

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// TestMain gives controller-runtime a logger that drops everything: the
// handlers log per request at V(1) only, and without a logger
// controller-runtime prints a stack trace into the benchmark output.
func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
