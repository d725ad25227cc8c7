package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// ValidateConfigPath is where Tollgate checks edits of its own ConfigMaps.
const ValidateConfigPath = "/validate-config"

// ConfigCheck loads config and policies with part of them replaced, as the
// replicas would after the edit, and returns the error they would log.
// config is nil to keep the config file; policies nil to keep the policy
// directory.
type ConfigCheck func(ctx context.Context, config []byte, configName string, policies fs.FS) error

// ConfigMapValidator serves /validate-config: it refuses an edit of the
// config or policies ConfigMap that the replicas could not load, with the
// loader's message, so a bad config never reaches a replica.
type ConfigMapValidator struct {
	Namespace string
	// ConfigMap holds the config file under ConfigKey; PoliciesConfigMap
	// holds .rego files. An empty name is not checked.
	ConfigMap, ConfigKey, PoliciesConfigMap string
	Check                                   ConfigCheck
	Recorder                                Recorder
}

// Handle implements admission.Handler.
func (v *ConfigMapValidator) Handle(ctx context.Context, ar admission.Request) admission.Response {
	const hook = "validate-config"
	if ar.Kind.Group != "" || ar.Kind.Kind != "ConfigMap" || ar.Namespace != v.Namespace || len(ar.Object.Raw) == 0 {
		return admission.Allowed("")
	}
	var cm corev1.ConfigMap
	if err := json.Unmarshal(ar.Object.Raw, &cm); err != nil {
		// Not Tollgate's to refuse: the API server validates ConfigMaps.
		ctrl.LoggerFrom(ctx).Info("cannot read a ConfigMap to check", "error", err.Error())
		if v.Recorder != nil {
			v.Recorder.Malfunction(hook)
		}
		return admission.Allowed("").WithWarnings("Tollgate could not read this ConfigMap to check it: " + err.Error())
	}
	where := fmt.Sprintf("ConfigMap %s/%s", cm.Namespace, cm.Name)
	var err error
	switch {
	case v.ConfigMap != "" && cm.Name == v.ConfigMap:
		data, ok := cm.Data[v.ConfigKey]
		if !ok {
			err = fmt.Errorf("%s has no key %q: Tollgate reads its config file from it", where, v.ConfigKey)
			break
		}
		err = v.Check(ctx, []byte(data), fmt.Sprintf("%s key %s", where, v.ConfigKey), nil)
	case v.PoliciesConfigMap != "" && cm.Name == v.PoliciesConfigMap:
		files := fstest.MapFS{}
		for name, content := range cm.Data {
			files[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o444}
		}
		if err = v.Check(ctx, nil, "", files); err != nil {
			err = fmt.Errorf("%s: %w", where, err)
		}
	default:
		return admission.Allowed("")
	}
	if err == nil {
		record(v.Recorder, hook, nil, nil)
		return admission.Allowed("")
	}
	var out verdict.Verdict
	out.Deny("config.invalid", "data", err.Error())
	record(v.Recorder, hook, out.Reasons, nil)
	return Deny(out)
}
