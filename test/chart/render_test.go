package chart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tollgate-dev/tollgate/pkg/config"
)

const (
	release   = "tollgate"
	namespace = "tollgate-system"
	servingCM = "tollgate-serving-cert"
)

// The objects a default install creates, and nothing else.
var defaultObjects = []string{
	"ServiceAccount/tollgate",
	"ConfigMap/tollgate-config",
	"ClusterRole/tollgate",
	"ClusterRoleBinding/tollgate",
	"Service/tollgate",
	"NetworkPolicy/tollgate",
	"Deployment/tollgate",
	"PodDisruptionBudget/tollgate",
	"Issuer/tollgate-selfsigned",
	"Certificate/tollgate-ca",
	"Issuer/tollgate-ca",
	"Certificate/tollgate-serving-cert",
	"MutatingWebhookConfiguration/tollgate",
	"ValidatingWebhookConfiguration/tollgate",
}

// Minimal cert-manager types: only what the chart renders, so strict decoding still catches typos.
type issuer struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
}

type certificate struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		IsCA        bool     `json:"isCA,omitempty"`
		CommonName  string   `json:"commonName"`
		SecretName  string   `json:"secretName"`
		DNSNames    []string `json:"dnsNames,omitempty"`
		Duration    string   `json:"duration"`
		RenewBefore string   `json:"renewBefore"`
		Usages      []string `json:"usages,omitempty"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy,omitempty"`
		} `json:"privateKey"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind"`
			Group string `json:"group"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Scheme   string `json:"scheme"`
			Interval string `json:"interval,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	m := template(t)

	if diff := cmp.Diff(sorted(defaultObjects), sorted(m.keys())); diff != "" {
		t.Errorf("rendered objects (-want +got):\n%s", diff)
	}

	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	checkDeployment(t, d)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if got := secretVolume(t, pod, "certs"); got != "tollgate-serving-cert-tls" {
		t.Errorf("certs volume is Secret %q, want the serving Certificate's Secret", got)
	}
	if hasArgPrefix(c.Args, "--policies") {
		t.Errorf("--policies passed without custom policies: %v", c.Args)
	}
	if slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "policies" }) {
		t.Error("policies volume mounted without custom policies")
	}

	svc := get[corev1.Service](t, m, "Service", "tollgate")
	if !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	wantPorts := map[string]intstr.IntOrString{"webhook": intstr.FromString("webhook"), "metrics": intstr.FromString("metrics")}
	for _, p := range svc.Spec.Ports {
		if want, ok := wantPorts[p.Name]; !ok || p.TargetPort != want {
			t.Errorf("Service port %s -> %v, want %v", p.Name, p.TargetPort, want)
		}
		if p.Name == "webhook" && p.Port != 443 {
			t.Errorf("Service webhook port %d, want 443", p.Port)
		}
	}

	pdb := get[policyv1.PodDisruptionBudget](t, m, "PodDisruptionBudget", "tollgate")
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB maxUnavailable %v minAvailable %v, want maxUnavailable 1 only", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p == nil || *p != policyv1.AlwaysAllow {
		t.Errorf("PDB unhealthyPodEvictionPolicy %v, want AlwaysAllow", p)
	}
	if !selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Error("PDB does not select the pods")
	}

	checkRBAC(t, m)
	checkCertManagerChain(t, m, "tollgate-ca", "Issuer")

	checkConfig(t, m, func(c *config.Config) {
		if c.Quota.Mode != "deny" || c.Quota.WarnThreshold != 90 || c.Policies.FailureMode != "closed" {
			t.Errorf("default config: quota %+v, failureMode %q", c.Quota, c.Policies.FailureMode)
		}
	})

	mwc := get[admissionv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration", "tollgate")
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "tollgate")
	for _, ann := range []map[string]string{mwc.Annotations, vwc.Annotations} {
		if got := ann["cert-manager.io/inject-ca-from"]; got != namespace+"/"+servingCM {
			t.Errorf("inject-ca-from = %q, want %s/%s", got, namespace, servingCM)
		}
	}
	hooks := webhooks(mwc, vwc)
	if got := names(hooks); !slices.Equal(got, []string{"mutate-pods.tollgate.dev", "validate-pods.tollgate.dev", "validate-workloads.tollgate.dev"}) {
		t.Fatalf("webhooks %v", got)
	}
	want := map[string]struct {
		path    string
		failure admissionv1.FailurePolicyType
	}{
		"mutate-pods.tollgate.dev":        {"/mutate-v1-pod", admissionv1.Ignore},
		"validate-pods.tollgate.dev":      {"/validate-v1-pod", admissionv1.Fail},
		"validate-workloads.tollgate.dev": {"/validate-workloads", admissionv1.Ignore},
	}
	for _, h := range hooks {
		w := want[h.name]
		s := h.client.Service
		if s == nil || s.Name != "tollgate" || s.Namespace != namespace || s.Path == nil || *s.Path != w.path || s.Port == nil || *s.Port != 443 {
			t.Errorf("%s: clientConfig.service %+v, want tollgate.%s:443%s", h.name, s, namespace, w.path)
		}
		if h.client.URL != nil || len(h.client.CABundle) != 0 {
			t.Errorf("%s: url %v / caBundle set in certManager mode (cainjector owns caBundle)", h.name, h.client.URL)
		}
		if h.failure == nil || *h.failure != w.failure {
			t.Errorf("%s: failurePolicy %v, want %s", h.name, deref(h.failure), w.failure)
		}
		if h.timeout == nil || *h.timeout != 5 {
			t.Errorf("%s: timeoutSeconds %v, want 5", h.name, deref(h.timeout))
		}
		if h.sideEffects == nil || *h.sideEffects != admissionv1.SideEffectClassNone {
			t.Errorf("%s: sideEffects %v, want None", h.name, deref(h.sideEffects))
		}
		if !slices.Equal(h.reviewVersions, []string{"v1"}) {
			t.Errorf("%s: admissionReviewVersions %v", h.name, h.reviewVersions)
		}
		if h.matchPolicy == nil || *h.matchPolicy != admissionv1.Equivalent {
			t.Errorf("%s: matchPolicy %v, want Equivalent", h.name, deref(h.matchPolicy))
		}
		checkNamespaceSelection(t, h.name, h.namespaceSelector, map[string]bool{
			"default": true, "team-a": true, "kube-system": false, namespace: false,
		})
	}
	if p := mwc.Webhooks[0].ReinvocationPolicy; p == nil || *p != admissionv1.IfNeededReinvocationPolicy {
		t.Errorf("mutating reinvocationPolicy %v, want IfNeeded", deref(p))
	}

	// What each webhook is sent: resource/subresource -> operations.
	wantRules := map[string]map[string][]string{
		"mutate-pods.tollgate.dev": {"/v1/pods": {"CREATE"}, "/v1/pods/resize": {"UPDATE"}, "/v1/pods/ephemeralcontainers": {"UPDATE"}},
		"validate-pods.tollgate.dev": {
			"/v1/pods":                     {"CREATE", "UPDATE"},
			"/v1/pods/ephemeralcontainers": {"UPDATE"},
			"/v1/pods/resize":              {"UPDATE"},
		},
		"validate-workloads.tollgate.dev": {
			"apps/v1/deployments":              {"CREATE", "UPDATE"},
			"apps/v1/statefulsets":             {"CREATE", "UPDATE"},
			"apps/v1/daemonsets":               {"CREATE", "UPDATE"},
			"apps/v1/replicasets":              {"CREATE", "UPDATE"},
			"apps/v1/deployments/scale":        {"UPDATE"},
			"apps/v1/statefulsets/scale":       {"UPDATE"},
			"apps/v1/replicasets/scale":        {"UPDATE"},
			"/v1/replicationcontrollers":       {"CREATE", "UPDATE"},
			"/v1/replicationcontrollers/scale": {"UPDATE"},
			"batch/v1/jobs":                    {"CREATE", "UPDATE"},
			"batch/v1/cronjobs":                {"CREATE", "UPDATE"},
		},
	}
	for _, h := range hooks {
		if diff := cmp.Diff(wantRules[h.name], flattenRules(t, h.name, h.rules)); diff != "" {
			t.Errorf("%s rules (-want +got):\n%s", h.name, diff)
		}
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", deref(d.Spec.Replicas))
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Error("rolling update may take a replica down before its successor is ready")
	}
	pod := d.Spec.Template.Spec
	if pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName %q", pod.PriorityClassName)
	}
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Error("the pod needs its token to read Namespaces, LimitRanges and ResourceQuotas")
	}
	if pod.ServiceAccountName != "tollgate" {
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	}
	for k := range d.Spec.Template.Annotations {
		if strings.HasPrefix(k, "checksum/") {
			t.Errorf("pod annotation %s: config is hot reloaded, a checksum would restart pods on every edit", k)
		}
	}
	psc := pod.SecurityContext
	if psc == nil || !isTrue(psc.RunAsNonRoot) || deref(psc.RunAsUser) != 65532 || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || !isTrue(sc.RunAsNonRoot) || deref(sc.RunAsUser) != 65532 || !isTrue(sc.ReadOnlyRootFilesystem) ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged != nil && *sc.Privileged ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext is not restricted: %+v", sc)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	readYAML(t, filepath.Join(chartDir, "Chart.yaml"), &chart, false)
	if want := "ghcr.io/tollgate-dev/tollgate:" + chart.AppVersion; chart.AppVersion == "" || c.Image != want {
		t.Errorf("image %q, want %q (the chart's appVersion)", c.Image, want)
	}
	if c.Args[0] != "serve" {
		t.Errorf("args %v do not start with serve", c.Args)
	}
	for _, a := range []string{"--port=9443", "--cert-dir=/etc/tollgate/certs", "--metrics-bind-address=:8080",
		"--health-probe-bind-address=:8081", "--config=/etc/tollgate/config/config.yaml"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v lack %s", c.Args, a)
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if diff := cmp.Diff(map[string]int32{"webhook": 9443, "metrics": 8080, "health": 8081}, ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port != intstr.FromString("health") {
			t.Errorf("probe %s: %+v", name, p)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		t.Error("CPU limit set: throttling a webhook slows every admission")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["POD_NAMESPACE"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE %+v, want the downward API", e)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm
		if !vm.ReadOnly {
			t.Errorf("volume %s mounted writable", vm.Name)
		}
	}
	if mounts["certs"].MountPath != "/etc/tollgate/certs" || mounts["config"].MountPath != "/etc/tollgate/config" {
		t.Errorf("mounts %+v", mounts)
	}
	if cm := configMapVolume(t, pod, "config"); cm != "tollgate-config" {
		t.Errorf("config volume from ConfigMap %q", cm)
	}
	if len(pod.TopologySpreadConstraints) != 1 {
		t.Fatalf("topologySpreadConstraints %+v", pod.TopologySpreadConstraints)
	}
	tsc := pod.TopologySpreadConstraints[0]
	if tsc.TopologyKey != "kubernetes.io/hostname" || tsc.LabelSelector == nil || !selects(tsc.LabelSelector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("topology spread %+v does not spread the release's pods over nodes", tsc)
	}
	if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Error("Deployment selector does not select its own pods")
	}
}

func checkRBAC(t *testing.T, m *manifests) {
	t.Helper()
	cr := get[rbacv1.ClusterRole](t, m, "ClusterRole", "tollgate")
	got := map[string][]string{}
	for _, r := range cr.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				got[g+"/"+res] = r.Verbs
			}
		}
		if len(r.ResourceNames) != 0 || len(r.NonResourceURLs) != 0 {
			t.Errorf("unexpected rule %+v", r)
		}
	}
	read := []string{"get", "list", "watch"}
	want := map[string][]string{"/namespaces": read, "/limitranges": read, "/resourcequotas": read,
		"apps/deployments": {"get"}, "apps/statefulsets": {"get"}, "apps/replicasets": {"get"}, "/replicationcontrollers": {"get"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ClusterRole grants (-want +got):\n%s", diff)
	}
	crb := get[rbacv1.ClusterRoleBinding](t, m, "ClusterRoleBinding", "tollgate")
	wantSub := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tollgate", Namespace: namespace}}
	if diff := cmp.Diff(wantSub, crb.Subjects); diff != "" || crb.RoleRef.Name != "tollgate" || crb.RoleRef.Kind != "ClusterRole" {
		t.Errorf("ClusterRoleBinding %+v %s", crb.RoleRef, diff)
	}
	if m.has("Role", "tollgate") || m.has("RoleBinding", "tollgate") {
		t.Error("namespaced RBAC rendered; leader election is not used")
	}
}

// checkCertManagerChain checks self-signed Issuer -> CA Certificate -> CA Issuer -> serving
// Certificate, and that the serving Certificate names both Service DNS names and the Secret
// the pods mount.
func checkCertManagerChain(t *testing.T, m *manifests, servingIssuer, servingIssuerKind string) {
	t.Helper()
	serving := get[certificate](t, m, "Certificate", servingCM)
	wantDNS := []string{"tollgate.tollgate-system.svc", "tollgate.tollgate-system.svc.cluster.local"}
	if !slices.Equal(serving.Spec.DNSNames, wantDNS) {
		t.Errorf("serving dnsNames %v, want %v", serving.Spec.DNSNames, wantDNS)
	}
	if serving.Spec.IsCA || serving.Spec.Duration == "" || serving.Spec.RenewBefore == "" {
		t.Errorf("serving certificate isCA=%v duration=%q renewBefore=%q", serving.Spec.IsCA, serving.Spec.Duration, serving.Spec.RenewBefore)
	}
	checkDurations(t, "serving", serving.Spec.Duration, serving.Spec.RenewBefore)
	if !slices.Contains(serving.Spec.Usages, "server auth") {
		t.Errorf("serving usages %v lack server auth", serving.Spec.Usages)
	}
	if r := serving.Spec.IssuerRef; r.Name != servingIssuer || r.Kind != servingIssuerKind {
		t.Errorf("serving issuerRef %+v, want %s %s", r, servingIssuerKind, servingIssuer)
	}
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if got := secretVolume(t, d.Spec.Template.Spec, "certs"); got != serving.Spec.SecretName {
		t.Errorf("pods mount Secret %q, the Certificate writes %q", got, serving.Spec.SecretName)
	}
	if servingIssuerKind != "Issuer" || servingIssuer != "tollgate-ca" {
		return
	}
	caIssuer := get[issuer](t, m, "Issuer", "tollgate-ca")
	ca := get[certificate](t, m, "Certificate", "tollgate-ca")
	self := get[issuer](t, m, "Issuer", "tollgate-selfsigned")
	if self.Spec.SelfSigned == nil {
		t.Error("tollgate-selfsigned is not a selfSigned Issuer")
	}
	if !ca.Spec.IsCA || ca.Spec.IssuerRef.Name != "tollgate-selfsigned" {
		t.Errorf("CA certificate isCA=%v issuer %q", ca.Spec.IsCA, ca.Spec.IssuerRef.Name)
	}
	checkDurations(t, "CA", ca.Spec.Duration, ca.Spec.RenewBefore)
	caLife, _ := time.ParseDuration(ca.Spec.Duration)
	leafLife, _ := time.ParseDuration(serving.Spec.Duration)
	if caLife < 10*leafLife {
		t.Errorf("CA lives %s, serving cert %s: the CA should outlive many leaf renewals", caLife, leafLife)
	}
	if caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName {
		t.Errorf("CA Issuer reads %+v, the CA Certificate writes %q", caIssuer.Spec.CA, ca.Spec.SecretName)
	}
}

func checkDurations(t *testing.T, what, duration, renewBefore string) {
	t.Helper()
	d, err1 := time.ParseDuration(duration)
	r, err2 := time.ParseDuration(renewBefore)
	if err1 != nil || err2 != nil || r <= 0 || r >= d {
		t.Errorf("%s: duration %q renewBefore %q: want 0 < renewBefore < duration", what, duration, renewBefore)
	}
}

// checkConfig parses the rendered config file with the binary's own parser.
func checkConfig(t *testing.T, m *manifests, check func(*config.Config)) {
	t.Helper()
	cm := get[corev1.ConfigMap](t, m, "ConfigMap", "tollgate-config")
	data, ok := cm.Data["config.yaml"]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("config ConfigMap data keys %v, want config.yaml", cm.Data)
	}
	c, err := config.Parse([]byte(data))
	if err != nil {
		t.Fatalf("tollgate would refuse the chart's config: %v\n%s", err, data)
	}
	check(c)
}

// configHookName is Tollgate's check of its own ConfigMaps, which selects
// the release namespace only; webhooks leaves it out (see TestConfigWebhook).
const configHookName = "validate-config.tollgate.dev"

// webhooks returns the Pod and workload webhooks of the configurations.
func webhooks(m *admissionv1.MutatingWebhookConfiguration, v *admissionv1.ValidatingWebhookConfiguration) []hook {
	return slices.DeleteFunc(allWebhooks(m, v), func(h hook) bool { return h.name == configHookName })
}

func allWebhooks(m *admissionv1.MutatingWebhookConfiguration, v *admissionv1.ValidatingWebhookConfiguration) []hook {
	var out []hook
	if m != nil {
		for _, w := range m.Webhooks {
			out = append(out, hook{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.NamespaceSelector, w.ObjectSelector, w.MatchConditions})
		}
	}
	if v != nil {
		for _, w := range v.Webhooks {
			out = append(out, hook{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.NamespaceSelector, w.ObjectSelector, w.MatchConditions})
		}
	}
	return out
}

func names(hs []hook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.name)
	}
	return out
}

// flattenRules maps "group/version/resource" to its operations, sorted.
func flattenRules(t *testing.T, name string, rules []admissionv1.RuleWithOperations) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range rules {
		if r.Scope == nil || *r.Scope != admissionv1.NamespacedScope {
			t.Errorf("%s: rule %v is not Namespaced-scoped", name, r.Resources)
		}
		for _, g := range r.APIGroups {
			for _, v := range r.APIVersions {
				for _, res := range r.Resources {
					key := g + "/" + v + "/" + res
					for _, op := range r.Operations {
						out[key] = append(out[key], string(op))
					}
					sort.Strings(out[key])
				}
			}
		}
	}
	return out
}

// checkNamespaceSelection evaluates a webhook's namespaceSelector the way the API server does,
// against namespaces carrying the kubernetes.io/metadata.name label it sets; every namespace
// also checks that only the exact opt-out value "true" excludes it.
func checkNamespaceSelection(t *testing.T, hookName string, sel *metav1.LabelSelector, want map[string]bool) {
	t.Helper()
	for ns, selected := range want {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}}}
		if got := matches(t, sel, obj); got != selected {
			t.Errorf("%s: namespace %s selected=%v, want %v", hookName, ns, got, selected)
		}
		for _, v := range []string{"", "false", "True", "yes"} {
			obj.Labels["tollgate.dev/ignore"] = v
			if got := matches(t, sel, obj); got != selected {
				t.Errorf("%s: namespace %s labelled tollgate.dev/ignore=%q selected=%v, want %v (only \"true\" opts out)", hookName, ns, v, got, selected)
			}
		}
		obj.Labels["tollgate.dev/ignore"] = "true"
		if matches(t, sel, obj) {
			t.Errorf("%s: namespace %s labelled tollgate.dev/ignore=true is still sent to tollgate", hookName, ns)
		}
	}
}

func matches(t *testing.T, sel *metav1.LabelSelector, ns *corev1.Namespace) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("namespaceSelector %+v: %v", sel, err)
	}
	return s.Matches(labels.Set(ns.Labels))
}

func selects(selector, podLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(podLabels))
}

func secretVolume(t *testing.T, pod corev1.PodSpec, name string) string {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.Name == name && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Errorf("no Secret volume %q in %+v", name, pod.Volumes)
	return ""
}

func configMapVolume(t *testing.T, pod corev1.PodSpec, name string) string {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.Name == name && v.ConfigMap != nil {
			return v.ConfigMap.Name
		}
	}
	t.Errorf("no ConfigMap volume %q in %+v", name, pod.Volumes)
	return ""
}

func hasArgPrefix(args []string, prefix string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

func isTrue(b *bool) bool { return b != nil && *b }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// testCA returns a PEM self-signed CA certificate.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// With no excluded namespaces (possible only in url mode) the chart must not render an empty
// NotIn, which the API server rejects.
func TestNoExcludedNamespaces(t *testing.T) {
	t.Parallel()
	ca := base64.StdEncoding.EncodeToString(testCA(t))
	f := valuesFile(t, "webhook:\n  excludeNamespaces: []\n")
	m := template(t, "-f", f, "--set", "tls.mode=url", "--set", "webhook.url=https://127.0.0.1:9443", "--set", "tls.caBundle="+ca)
	mwc := get[admissionv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration", "tollgate")
	for _, h := range webhooks(mwc, nil) {
		for _, e := range h.namespaceSelector.MatchExpressions {
			if (e.Operator == metav1.LabelSelectorOpIn || e.Operator == metav1.LabelSelectorOpNotIn) && len(e.Values) == 0 {
				t.Errorf("%s: %s %s with no values", h.name, e.Key, e.Operator)
			}
		}
		checkNamespaceSelection(t, h.name, h.namespaceSelector, map[string]bool{"kube-system": true, "default": true})
	}
}
