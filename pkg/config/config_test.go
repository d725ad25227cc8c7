package config

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/quota"
)

func TestParseRejectsBadFiles(t *testing.T) {
	tests := map[string]struct {
		file    string
		wantErr string
	}{
		"empty":            {file: "", wantErr: "empty config"},
		"wrong kind":       {file: "apiVersion: tollgate.dev/v1alpha1\nkind: Policy\n", wantErr: `kind "Policy"`},
		"wrong version":    {file: "apiVersion: tollgate.dev/v2\nkind: Config\n", wantErr: `apiVersion "tollgate.dev/v2"`},
		"unknown field":    {file: "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquotas: {}\n", wantErr: `unknown field "quotas"`},
		"not yaml":         {file: "{{", wantErr: "decode"},
		"bad quota mode":   {file: "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: maybe}\n", wantErr: `quota.mode: "maybe"`},
		"bad threshold":    {file: "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {warnThreshold: 150}\n", wantErr: "quota.warnThreshold: 150"},
		"bad failure mode": {file: "apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies: {failureMode: sideways}\n", wantErr: `policies.failureMode: "sideways"`},
		"bad action": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies: {settings: {require-digest: {action: block}}}\n",
			wantErr: `policies.settings.require-digest.action: "block"`,
		},
		"invalid quantity": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{name: p, limits: [{type: Container, default: {cpu: lots}}]}]}\n",
			wantErr: "quantities must match",
		},
		"profile without name": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{limits: [{type: Container, default: {cpu: 1}}]}]}\n",
			wantErr: "defaults.profiles[0].name: required",
		},
		"duplicate profile": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{name: a, limits: []}, {name: a, limits: []}]}\n",
			wantErr: `duplicate profile "a"`,
		},
		"default above max": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{name: a, limits: [{type: Container, default: {cpu: 2}, max: {cpu: 1}}]}]}\n",
			wantErr: "defaults.profiles[0].limits[0].default[cpu]: 2 is above max 1",
		},
		"defaults on pod item": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{name: a, limits: [{type: Pod, default: {cpu: 1}}]}]}\n",
			wantErr: "not allowed for type Pod",
		},
		"bad selector": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{name: a, namespaceSelector: {matchExpressions: [{key: x, operator: Near}]}, limits: []}]}\n",
			wantErr: "defaults.profiles[0].namespaceSelector",
		},
		"ratio below one": {
			file:    "apiVersion: tollgate.dev/v1alpha1\nkind: Config\ndefaults: {profiles: [{name: a, limits: [{type: Container, maxLimitRequestRatio: {cpu: 500m}}]}]}\n",
			wantErr: "must be at least 1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseFillsDefaults(t *testing.T) {
	c, err := Parse([]byte("apiVersion: tollgate.dev/v1alpha1\nkind: Config\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Quota.Mode != quota.ModeDeny || c.Quota.WarnThreshold != 90 || c.Policies.FailureMode != "closed" {
		t.Fatalf("defaults not filled: %+v %+v", c.Quota, c.Policies)
	}
	if got := c.QuotaOptions(); got.LedgerTTL.Seconds() != 30 {
		t.Fatalf("ledger TTL %v, want 30s", got.LedgerTTL)
	}
}

func TestProfilesFor(t *testing.T) {
	c, err := Parse([]byte(`apiVersion: tollgate.dev/v1alpha1
kind: Config
defaults:
  profiles:
  - name: teams
    namespaceSelector: {matchLabels: {kind: team}}
    limits: [{type: Container, default: {cpu: 500m}}]
  - name: everyone
    limits: [{type: Container, default: {memory: 128Mi}}]
  - name: batch
    namespaceSelector: {matchExpressions: [{key: kind, operator: In, values: [batch]}]}
    limits: [{type: Container, default: {cpu: "2"}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ns := func(l map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: l}}
	}
	tests := map[string]struct {
		ns   *corev1.Namespace
		want []string
	}{
		"team namespace":         {ns: ns(map[string]string{"kind": "team"}), want: []string{"teams", "everyone"}},
		"batch namespace":        {ns: ns(map[string]string{"kind": "batch"}), want: []string{"everyone", "batch"}},
		"unlabelled namespace":   {ns: ns(nil), want: []string{"everyone"}},
		"namespace not in cache": {ns: nil, want: []string{"everyone"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, p := range c.ProfilesFor(tc.ns) {
				got = append(got, p.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
