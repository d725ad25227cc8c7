package chart

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
)

func TestProvidedMode(t *testing.T) {
	t.Parallel()
	pemCA := testCA(t)
	b64 := base64.StdEncoding.EncodeToString(pemCA)
	m := template(t, "--set", "tls.mode=provided", "--set", "tls.secretName=my-webhook-tls", "--set", "tls.caBundle="+b64)

	for _, k := range m.keys() {
		if strings.HasPrefix(k, "Certificate/") || strings.HasPrefix(k, "Issuer/") {
			t.Errorf("cert-manager object %s rendered in provided mode", k)
		}
	}
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if got := secretVolume(t, d.Spec.Template.Spec, "certs"); got != "my-webhook-tls" {
		t.Errorf("certs volume Secret %q, want my-webhook-tls", got)
	}
	mwc := get[admissionv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration", "tollgate")
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "tollgate")
	if _, ok := mwc.Annotations["cert-manager.io/inject-ca-from"]; ok {
		t.Error("inject-ca-from set in provided mode: cainjector would overwrite the given caBundle")
	}
	hooks := webhooks(mwc, vwc)
	if len(hooks) != 3 {
		t.Fatalf("%d webhooks, want 3", len(hooks))
	}
	for _, h := range hooks {
		if string(h.client.CABundle) != string(pemCA) {
			t.Errorf("%s: caBundle is not the given CA", h.name)
		}
		if h.client.Service == nil || h.client.Service.Name != "tollgate" {
			t.Errorf("%s: clientConfig %+v", h.name, h.client)
		}
	}
}

// TestURLMode renders exactly what the demo and e2e harness use to point a real API server at
// a tollgate running on the host.
func TestURLMode(t *testing.T) {
	t.Parallel()
	pemCA := testCA(t)
	b64 := base64.StdEncoding.EncodeToString(pemCA)
	out, stderr, err := helm(t, "template", "t", "charts/tollgate", "--no-hooks",
		"--set", "tls.mode=url", "--set", "webhook.url=https://127.0.0.1:19443/", "--set", "tls.caBundle="+b64)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m, err := parseManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MutatingWebhookConfiguration/t-tollgate", "ValidatingWebhookConfiguration/t-tollgate"}
	if diff := cmp.Diff(want, sorted(m.keys())); diff != "" {
		t.Fatalf("url mode renders only the webhook configurations (-want +got):\n%s", diff)
	}
	mwc := get[admissionv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration", "t-tollgate")
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "t-tollgate")
	wantURL := map[string]string{
		"mutate-pods.tollgate.dev":        "https://127.0.0.1:19443/mutate-v1-pod",
		"validate-pods.tollgate.dev":      "https://127.0.0.1:19443/validate-v1-pod",
		"validate-workloads.tollgate.dev": "https://127.0.0.1:19443/validate-workloads",
	}
	hooks := webhooks(mwc, vwc)
	if len(hooks) != 3 {
		t.Fatalf("%d webhooks, want 3", len(hooks))
	}
	for _, h := range hooks {
		if h.client.URL == nil || *h.client.URL != wantURL[h.name] || h.client.Service != nil {
			t.Errorf("%s: clientConfig url %v service %v, want url %s", h.name, deref(h.client.URL), h.client.Service, wantURL[h.name])
		}
		if string(h.client.CABundle) != string(pemCA) {
			t.Errorf("%s: caBundle is not the given CA", h.name)
		}
		// Nothing runs in the release namespace in url mode, so it is not excluded.
		checkNamespaceSelection(t, h.name, h.namespaceSelector, map[string]bool{"default": true, "kube-system": false})
	}
	if _, ok := mwc.Annotations["cert-manager.io/inject-ca-from"]; ok {
		t.Error("inject-ca-from set in url mode")
	}
}

func TestSingleReplicaHasNoPDB(t *testing.T) {
	t.Parallel()
	m := template(t, "--set", "replicaCount=1")
	if m.has("PodDisruptionBudget", "tollgate") {
		t.Error("a PDB over one replica blocks every node drain")
	}
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if deref(d.Spec.Replicas) != 1 {
		t.Errorf("replicas %d", deref(d.Spec.Replicas))
	}
	m = template(t, "--set", "podDisruptionBudget.enabled=false")
	if m.has("PodDisruptionBudget", "tollgate") {
		t.Error("PDB rendered with podDisruptionBudget.enabled=false")
	}
}

func TestCustomPoliciesInline(t *testing.T) {
	t.Parallel()
	rego := "package tollgate.custom\n\nimport rego.v1\n\ndeny contains msg if {\n\tinput.request.name == \"forbidden\"\n\tmsg := \"no\"\n}\n"
	f := valuesFile(t, "customPolicies:\n  inline:\n    team.rego: |\n"+indent(rego, "      "))
	m := template(t, "-f", f)
	cm := get[corev1.ConfigMap](t, m, "ConfigMap", "tollgate-policies")
	if diff := cmp.Diff(map[string]string{"team.rego": rego}, cm.Data); diff != "" {
		t.Errorf("policies ConfigMap data (-want +got):\n%s", diff)
	}
	checkPoliciesMounted(t, m, "tollgate-policies")
}

func TestCustomPoliciesExistingConfigMap(t *testing.T) {
	t.Parallel()
	m := template(t, "--set", "customPolicies.existingConfigMap=platform-rego")
	if m.has("ConfigMap", "tollgate-policies") {
		t.Error("chart rendered its own policies ConfigMap next to an existing one")
	}
	checkPoliciesMounted(t, m, "platform-rego")
}

func checkPoliciesMounted(t *testing.T, m *manifests, configMap string) {
	t.Helper()
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	pod := d.Spec.Template.Spec
	if got := configMapVolume(t, pod, "policies"); got != configMap {
		t.Errorf("policies volume from ConfigMap %q, want %q", got, configMap)
	}
	c := pod.Containers[0]
	if !slices.Contains(c.Args, "--policies=/etc/tollgate/policies") {
		t.Errorf("args %v lack --policies=/etc/tollgate/policies", c.Args)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
		return vm.Name == "policies" && vm.MountPath == "/etc/tollgate/policies" && vm.ReadOnly
	}) {
		t.Errorf("policies not mounted read-only at /etc/tollgate/policies: %+v", c.VolumeMounts)
	}
}

func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	f := valuesFile(t, `networkPolicy:
  enabled: true
  metricsFrom:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
`)
	m := template(t, "-f", f)
	np := get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", "tollgate")
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if !selects(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) {
		t.Error("NetworkPolicy does not select the tollgate pods")
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes %v", np.Spec.PolicyTypes)
	}
	ingress := map[string][]networkingv1.NetworkPolicyPeer{}
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			ingress[p.Port.String()] = r.From
		}
	}
	if from, ok := ingress["webhook"]; !ok || len(from) != 0 {
		t.Errorf("webhook port must be open to the API server (any source by default): %v", ingress)
	}
	if from := ingress["metrics"]; len(from) != 1 || from[0].NamespaceSelector == nil {
		t.Errorf("metrics ingress from %v, want the monitoring namespace", from)
	}
	egress := egressPorts(np)
	for _, p := range []string{"UDP/53", "TCP/53", "TCP/443", "TCP/6443"} {
		if !egress[p] {
			t.Errorf("egress lacks %s: %v", p, egress)
		}
	}
	if m2 := template(t, "--set", "networkPolicy.enabled=false"); m2.has("NetworkPolicy", "tollgate") {
		t.Error("NetworkPolicy rendered with networkPolicy.enabled=false")
	}
}

// By default the NetworkPolicy is on and the metrics port is open to no one until scrapers are
// selected; the webhook Service carries the webhook port only.
func TestMetricsClosedByDefault(t *testing.T) {
	t.Parallel()
	m := template(t)
	np := get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", "tollgate")
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port.String() == "metrics" {
				t.Errorf("metrics port open by default to %v; want it closed until networkPolicy.metricsFrom selects scrapers", r.From)
			}
		}
	}
	svc := get[corev1.Service](t, m, "Service", "tollgate")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "webhook" {
		t.Errorf("webhook Service ports %+v, want the webhook port alone", svc.Spec.Ports)
	}
	if m.has("Service", "tollgate-metrics") {
		t.Error("metrics Service rendered although neither metrics.service nor serviceMonitor asks for it")
	}
	m = template(t, "--set", "metrics.service.enabled=true")
	ms := get[corev1.Service](t, m, "Service", "tollgate-metrics")
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if len(ms.Spec.Ports) != 1 || ms.Spec.Ports[0].TargetPort.String() != "metrics" || ms.Spec.Ports[0].Port != 8080 || !selects(ms.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("metrics Service %+v selecting %v, want port 8080 to the pods' metrics port", ms.Spec.Ports, ms.Spec.Selector)
	}
}

func TestWorkloadsWebhookOff(t *testing.T) {
	t.Parallel()
	m := template(t, "--set", "webhook.workloads.enabled=false")
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "tollgate")
	if got := names(webhooks(nil, vwc)); !slices.Equal(got, []string{"validate-pods.tollgate.dev"}) {
		t.Errorf("validating webhooks %v, want only the Pod one", got)
	}

	m = template(t, "--set", "webhook.mutating.enabled=false", "--set", "webhook.validating.enabled=false", "--set", "webhook.workloads.enabled=false", "--set", "webhook.config.enabled=false")
	if m.has("MutatingWebhookConfiguration", "tollgate") || m.has("ValidatingWebhookConfiguration", "tollgate") {
		t.Error("webhook configuration rendered with every webhook disabled (an empty one is still an object to manage)")
	}
}

func TestWebhookOverrides(t *testing.T) {
	t.Parallel()
	f := valuesFile(t, `webhook:
  timeoutSeconds: 10
  excludeNamespaces: [kube-system, kube-public]
  namespaceSelectorExpressions:
    - key: env
      operator: NotIn
      values: [sandbox]
  objectSelector:
    matchExpressions:
      - key: tollgate.dev/skip
        operator: DoesNotExist
  matchConditions:
    - name: not-node-users
      expression: "!request.userInfo.username.startsWith('system:node:')"
  mutating:
    failurePolicy: Fail
    reinvocationPolicy: Never
  validating:
    failurePolicy: Ignore
  workloads:
    failurePolicy: Fail
`)
	m := template(t, "-f", f)
	mwc := get[admissionv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration", "tollgate")
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "tollgate")
	wantFailure := map[string]admissionv1.FailurePolicyType{
		"mutate-pods.tollgate.dev":        admissionv1.Fail,
		"validate-pods.tollgate.dev":      admissionv1.Ignore,
		"validate-workloads.tollgate.dev": admissionv1.Fail,
	}
	for _, h := range webhooks(mwc, vwc) {
		if deref(h.failure) != wantFailure[h.name] {
			t.Errorf("%s: failurePolicy %v, want %s", h.name, deref(h.failure), wantFailure[h.name])
		}
		if deref(h.timeout) != 10 {
			t.Errorf("%s: timeoutSeconds %d, want 10", h.name, deref(h.timeout))
		}
		checkNamespaceSelection(t, h.name, h.namespaceSelector, map[string]bool{
			"team-a": true, "kube-public": false, "kube-system": false, namespace: false,
		})
		sandbox := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{"kubernetes.io/metadata.name": "s", "env": "sandbox"}}}
		if matches(t, h.namespaceSelector, sandbox) {
			t.Errorf("%s: extra namespaceSelectorExpressions not applied", h.name)
		}
		if h.objectSelector == nil || len(h.objectSelector.MatchExpressions) != 1 {
			t.Errorf("%s: objectSelector %+v", h.name, h.objectSelector)
		}
		if len(h.matchConditions) != 1 || h.matchConditions[0].Name != "not-node-users" {
			t.Errorf("%s: matchConditions %+v", h.name, h.matchConditions)
		}
	}
	if p := mwc.Webhooks[0].ReinvocationPolicy; p == nil || *p != admissionv1.NeverReinvocationPolicy {
		t.Errorf("reinvocationPolicy %v, want Never", deref(p))
	}
}

func TestServiceMonitorOnlyWithTheCRD(t *testing.T) {
	t.Parallel()
	m := template(t, "--set", "metrics.serviceMonitor.enabled=true")
	if m.has("ServiceMonitor", "tollgate") {
		t.Error("ServiceMonitor rendered although the cluster does not serve monitoring.coreos.com/v1")
	}
	m = template(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.interval=15s",
		"--set", "metrics.serviceMonitor.labels.release=prom", "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor")
	sm := get[serviceMonitor](t, m, "ServiceMonitor", "tollgate")
	svc := get[corev1.Service](t, m, "Service", "tollgate-metrics")
	if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) || !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
		t.Errorf("ServiceMonitor selects %v in %v; metrics Service labels %v", sm.Spec.Selector.MatchLabels, sm.Spec.NamespaceSelector.MatchNames, svc.Labels)
	}
	if hook := get[corev1.Service](t, m, "Service", "tollgate"); selects(sm.Spec.Selector.MatchLabels, hook.Labels) {
		t.Error("ServiceMonitor also selects the webhook Service")
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "15s" {
		t.Errorf("endpoints %+v", sm.Spec.Endpoints)
	}
	if sm.Metadata.Labels["release"] != "prom" {
		t.Errorf("labels %v lack release=prom", sm.Metadata.Labels)
	}
	if m := template(t, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"); m.has("ServiceMonitor", "tollgate") {
		t.Error("ServiceMonitor rendered while metrics.serviceMonitor.enabled=false")
	}
}

func TestExistingIssuer(t *testing.T) {
	t.Parallel()
	m := template(t, "--set", "tls.certManager.issuerRef.name=corp-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer")
	for _, k := range []string{"Issuer/tollgate-selfsigned", "Issuer/tollgate-ca", "Certificate/tollgate-ca"} {
		if _, ok := m.docs[k]; ok {
			t.Errorf("%s rendered although an existing issuer was given", k)
		}
	}
	checkCertManagerChain(t, m, "corp-ca", "ClusterIssuer")
}

func TestImageDigestAndConfigOverride(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("ab", 32)
	f := valuesFile(t, `image:
  digest: `+digest+`
config:
  quota:
    mode: warn
  defaults:
    profiles:
      - name: small
        namespaceSelector:
          matchLabels:
            team: a
        limits:
          - type: Container
            default:
              memory: 128Mi
            defaultRequest:
              cpu: 50m
`)
	m := template(t, "-f", f)
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/tollgate-dev/tollgate@"+digest {
		t.Errorf("image %q, want pinned by digest", got)
	}
	checkConfig(t, m, func(c *config.Config) {
		if c.Quota.Mode != "warn" || c.Quota.WarnThreshold != 90 {
			t.Errorf("quota %+v: the override must merge with the defaults", c.Quota)
		}
		if len(c.Defaults.Profiles) != 1 || c.Defaults.Profiles[0].Name != "small" {
			t.Errorf("profiles %+v", c.Defaults.Profiles)
		}
	})
}

func TestReleaseNaming(t *testing.T) {
	t.Parallel()
	out, stderr, err := helm(t, "template", "edge", "charts/tollgate", "--namespace", "policy", "--no-hooks")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m, err := parseManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	serving := get[certificate](t, m, "Certificate", "edge-tollgate-serving-cert")
	if want := []string{"edge-tollgate.policy.svc", "edge-tollgate.policy.svc.cluster.local"}; !slices.Equal(serving.Spec.DNSNames, want) {
		t.Errorf("dnsNames %v, want %v", serving.Spec.DNSNames, want)
	}
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "edge-tollgate")
	if got := vwc.Annotations["cert-manager.io/inject-ca-from"]; got != "policy/edge-tollgate-serving-cert" {
		t.Errorf("inject-ca-from %q", got)
	}
	for _, h := range webhooks(nil, vwc) {
		if h.client.Service.Name != "edge-tollgate" || h.client.Service.Namespace != "policy" {
			t.Errorf("%s: service %+v", h.name, h.client.Service)
		}
		checkNamespaceSelection(t, h.name, h.namespaceSelector, map[string]bool{"policy": false, namespace: true})
	}
}

// hook is the part of a mutating or validating webhook the tests look at.
type hook struct {
	name              string
	client            admissionv1.WebhookClientConfig
	rules             []admissionv1.RuleWithOperations
	failure           *admissionv1.FailurePolicyType
	matchPolicy       *admissionv1.MatchPolicyType
	sideEffects       *admissionv1.SideEffectClass
	timeout           *int32
	reviewVersions    []string
	namespaceSelector *metav1.LabelSelector
	objectSelector    *metav1.LabelSelector
	matchConditions   []admissionv1.MatchCondition
}

// TestConfigWebhook: the config webhook sees CREATE/UPDATE of ConfigMaps in
// the release namespace only, named like the chart's config and policies
// ConfigMaps, fails open, and the Deployment names those ConfigMaps to
// tollgate serve.
func TestConfigWebhook(t *testing.T) {
	t.Parallel()
	m := template(t, "--set-string", "customPolicies.inline.team\\.rego=package tollgate.team")
	vwc := get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "tollgate")
	var h *hook
	for _, w := range allWebhooks(nil, vwc) {
		if w.name == configHookName {
			h = &w
		}
	}
	if h == nil {
		t.Fatal("no config webhook")
	}
	if deref(h.failure) != admissionv1.Ignore || h.client.Service == nil || h.client.Service.Path == nil || *h.client.Service.Path != "/validate-config" {
		t.Errorf("failurePolicy %v, client %+v", deref(h.failure), h.client)
	}
	if got := flattenRules(t, h.name, h.rules); !cmp.Equal(got, map[string][]string{"/v1/configmaps": {"CREATE", "UPDATE"}}) {
		t.Errorf("rules %v", got)
	}
	checkNamespaceSelection(t, h.name, h.namespaceSelector, map[string]bool{namespace: true, "team-a": false, "kube-system": false})
	if len(h.matchConditions) != 1 || h.matchConditions[0].Expression != `object.metadata.name in ["tollgate-config", "tollgate-policies"]` {
		t.Errorf("matchConditions %+v", h.matchConditions)
	}
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--config-configmap=tollgate-config", "--policies-configmap=tollgate-policies"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	m = template(t, "--set", "webhook.config.enabled=false")
	vwc = get[admissionv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "tollgate")
	if slices.Contains(names(allWebhooks(nil, vwc)), configHookName) {
		t.Error("config webhook rendered with webhook.config.enabled=false")
	}
}
