package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
)

// errNotLoaded answers requests that reach a replica before its config
// ever loaded (it is not ready, so only a direct caller gets here).
var errNotLoaded = errors.New("tollgate has no config loaded: the files it started on do not load (see its log)")

// loadStatus remembers why the files on disk last failed to load.
type loadStatus struct {
	last atomic.Pointer[error]
}

// failed records the last load's error; nil records a success.
func (l *loadStatus) failed(err error) {
	if l == nil {
		return
	}
	if err == nil {
		l.last.Store(nil)
		return
	}
	l.last.Store(&err)
}

// check is the readiness check: ready once some config is in force. A
// reload that fails later keeps the replica ready on the last good config.
func (l *loadStatus) check(p *pipeline.Pipeline) healthz.Checker {
	return func(*http.Request) error {
		if p.State() != nil {
			return nil
		}
		if e := l.last.Load(); e != nil {
			return fmt.Errorf("config does not load: %w", *e)
		}
		return errNotLoaded
	}
}

// hookNames name each webhook path in logs, metrics and Failed.
var hookNames = map[string]string{
	tgwebhook.MutatePodPath: "mutate", tgwebhook.ValidatePodPath: "validate", tgwebhook.ValidateWorkloadsPath: "validate-workloads",
}

// untilLoaded answers with the webhook's malfunction answer until a config
// is in force.
func untilLoaded(p *pipeline.Pipeline, hook string, rec tgwebhook.Recorder, next admission.Handler) admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		if p.State() == nil {
			return tgwebhook.Failed(ctx, rec, hook, tgwebhook.FailureMode(p), errNotLoaded)
		}
		return next.Handle(ctx, req)
	})
}

// configValidator checks edits of Tollgate's own ConfigMaps by loading
// them in place of the mounted files, as a reload would.
func configValidator(opts Options, src loader.Sources, m *metrics.Metrics) *tgwebhook.ConfigMapValidator {
	src.Observer = nil
	return &tgwebhook.ConfigMapValidator{
		Namespace: opts.Namespace, ConfigMap: opts.ConfigConfigMap, PoliciesConfigMap: opts.PoliciesConfigMap,
		ConfigKey: filepath.Base(opts.ConfigFile), Recorder: m,
		Check: func(ctx context.Context, cfg []byte, name string, policies fs.FS) error {
			o := loader.Override{Config: cfg, ConfigName: name, Policies: policies}
			if policies != nil && len(src.PolicyDirs) == 0 {
				return errors.New("no --policies directory for the policies ConfigMap to replace")
			}
			_, err := loader.LoadWith(ctx, src, o)
			return err
		},
	}
}
