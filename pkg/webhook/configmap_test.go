package webhook_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
)

// TestConfigMapValidator: an edit of Tollgate's config or policies
// ConfigMap that would not load is refused with the loader's message;
// one that loads, and every other ConfigMap, is admitted.
func TestConfigMapValidator(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config", "config.yaml")
	polDir := filepath.Join(dir, "policies")
	for _, d := range []string{filepath.Dir(cfgFile), polDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(cfgFile, []byte("apiVersion: tollgate.dev/v1alpha1\nkind: Config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := loader.Sources{ConfigFile: cfgFile, PolicyDirs: []string{polDir}}
	v := &webhook.ConfigMapValidator{
		Namespace: "tollgate-system", ConfigMap: "tollgate-config", ConfigKey: "config.yaml", PoliciesConfigMap: "tollgate-policies",
		Check: func(ctx context.Context, cfg []byte, name string, policies fs.FS) error {
			_, err := loader.LoadWith(ctx, src, loader.Override{Config: cfg, ConfigName: name, Policies: policies})
			return err
		},
	}
	const good = "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: off}\n"
	tests := map[string]struct {
		ns, name string
		data     map[string]string
		wantDeny string
	}{
		"good config":          {ns: "tollgate-system", name: "tollgate-config", data: map[string]string{"config.yaml": good}},
		"bad config":           {ns: "tollgate-system", name: "tollgate-config", data: map[string]string{"config.yaml": "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: maybe}\n"}, wantDeny: `config ConfigMap tollgate-system/tollgate-config key config.yaml: quota.mode: "maybe" is not one of deny, warn, off`},
		"config key missing":   {ns: "tollgate-system", name: "tollgate-config", data: map[string]string{"other.yaml": good}, wantDeny: `has no key "config.yaml"`},
		"unknown policy named": {ns: "tollgate-system", name: "tollgate-config", data: map[string]string{"config.yaml": "apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies: {settings: {nope: {action: deny}}}\n"}, wantDeny: "nope"},
		"policy compiles":      {ns: "tollgate-system", name: "tollgate-policies", data: map[string]string{"team.rego": "package tollgate.team\ndeny contains \"x\" if { false }\n"}},
		"policy broken":        {ns: "tollgate-system", name: "tollgate-policies", data: map[string]string{"team.rego": "package tollgate.team\ndeny contains \"x\" if {\n"}, wantDeny: "ConfigMap tollgate-system/tollgate-policies: load policies: parse policies: team.rego:3"},
		"other configmap":      {ns: "tollgate-system", name: "something", data: map[string]string{"config.yaml": "{{"}},
		"other namespace":      {ns: "team-a", name: "tollgate-config", data: map[string]string{"config.yaml": "{{"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cm := corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: tc.name}, Data: tc.data}
			raw, _ := json.Marshal(cm)
			resp := v.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: tc.ns, Name: tc.name,
				Operation: admissionv1.Update, Object: runtime.RawExtension{Raw: raw},
			}})
			if tc.wantDeny == "" {
				if !resp.Allowed {
					t.Fatalf("refused: %v", resp.Result)
				}
				return
			}
			if resp.Allowed || !strings.Contains(resp.Result.Message, tc.wantDeny) {
				t.Fatalf("allowed=%v message %q, want a refusal containing %q", resp.Allowed, resp.Result.Message, tc.wantDeny)
			}
		})
	}
}
