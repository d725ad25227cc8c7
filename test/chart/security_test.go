package chart

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const vapAPI = "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"

func TestNamespaceLabelsPolicy(t *testing.T) {
	t.Parallel()
	m := template(t, "--api-versions", vapAPI, "--set", "namespaceLabels.allowedGroups={system:masters,platform-admins}",
		"--set", "namespaceLabels.allowedUsers={system:serviceaccount:flux-system:kustomize-controller}")
	vap := get[admissionv1.ValidatingAdmissionPolicy](t, m, "ValidatingAdmissionPolicy", "tollgate-namespace-labels")
	b := get[admissionv1.ValidatingAdmissionPolicyBinding](t, m, "ValidatingAdmissionPolicyBinding", "tollgate-namespace-labels")
	if b.Spec.PolicyName != vap.Name || !slices.Equal(b.Spec.ValidationActions, []admissionv1.ValidationAction{admissionv1.Deny}) {
		t.Errorf("binding %+v does not deny with policy %s", b.Spec, vap.Name)
	}
	if vap.Spec.FailurePolicy == nil || *vap.Spec.FailurePolicy != admissionv1.Fail {
		t.Errorf("failurePolicy %v, want Fail", vap.Spec.FailurePolicy)
	}
	rules := vap.Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || !slices.Equal(rules[0].Resources, []string{"namespaces"}) ||
		!slices.Equal(rules[0].Operations, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}) {
		t.Errorf("policy matches %+v, want namespaces on CREATE and UPDATE", rules)
	}
	vars := map[string]string{}
	for _, v := range vap.Spec.Variables {
		vars[v.Name] = v.Expression
	}
	for _, want := range []string{`"system:masters"`, `"platform-admins"`, `"system:serviceaccount:flux-system:kustomize-controller"`} {
		if !strings.Contains(vars["allowed"], want) {
			t.Errorf("allowed = %q lacks %s", vars["allowed"], want)
		}
	}
	if !strings.Contains(vars["guarded"], `k.startsWith("tollgate.dev/")`) || !strings.Contains(vars["guarded"], `k == "tollgate.dev/ignore"`) {
		t.Errorf("guarded = %q: must cover the tollgate.dev/ prefix and the opt-out label", vars["guarded"])
	}
	if len(vap.Spec.Validations) != 1 || vap.Spec.Validations[0].Expression != "!variables.changed || variables.allowed" {
		t.Errorf("validations %+v", vap.Spec.Validations)
	}

	// A renamed opt-out label outside the prefix is guarded too.
	m = template(t, "--api-versions", vapAPI, "--set", "webhook.ignoreLabel=example.com/no-tollgate")
	vap = get[admissionv1.ValidatingAdmissionPolicy](t, m, "ValidatingAdmissionPolicy", "tollgate-namespace-labels")
	if !strings.Contains(vap.Spec.Variables[2].Expression, `k == "example.com/no-tollgate"`) {
		t.Errorf("guarded = %q lacks the renamed opt-out label", vap.Spec.Variables[2].Expression)
	}

	if m := template(t); m.has("ValidatingAdmissionPolicy", "tollgate-namespace-labels") {
		t.Error("policy rendered although the API server does not serve ValidatingAdmissionPolicy")
	}
	if m := template(t, "--api-versions", vapAPI, "--set", "namespaceLabels.protect=false"); m.has("ValidatingAdmissionPolicy", "tollgate-namespace-labels") ||
		m.has("ValidatingAdmissionPolicyBinding", "tollgate-namespace-labels") {
		t.Error("policy rendered with namespaceLabels.protect=false")
	}
}

func TestClientAuth(t *testing.T) {
	t.Parallel()
	pemCA := testCA(t)
	m := template(t, "--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.caBundle="+base64.StdEncoding.EncodeToString(pemCA))
	cm := get[corev1.ConfigMap](t, m, "ConfigMap", "tollgate-client-ca")
	if strings.TrimSpace(cm.Data["ca.crt"]) != strings.TrimSpace(string(pemCA)) {
		t.Errorf("client CA ConfigMap holds %q, want the PEM given", cm.Data["ca.crt"])
	}
	checkClientCAMounted(t, m, "tollgate-client-ca")

	m = template(t, "--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.existingConfigMap=apiserver-webhook-ca")
	if m.has("ConfigMap", "tollgate-client-ca") {
		t.Error("a client CA ConfigMap rendered although existingConfigMap names one")
	}
	checkClientCAMounted(t, m, "apiserver-webhook-ca")

	d := get[appsv1.Deployment](t, template(t), "Deployment", "tollgate")
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--client-ca-file") || a == "--enable-http2" {
			t.Errorf("default args carry %s", a)
		}
	}
	d = get[appsv1.Deployment](t, template(t, "--set", "webhook.http2=true"), "Deployment", "tollgate")
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--enable-http2") {
		t.Error("webhook.http2=true does not pass --enable-http2")
	}

	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no CA":    {[]string{"--set", "webhook.clientAuth.enabled=true"}, "needs webhook.clientAuth.caBundle or webhook.clientAuth.existingConfigMap"},
		"both":     {[]string{"--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.caBundle=" + base64.StdEncoding.EncodeToString(pemCA), "--set", "webhook.clientAuth.existingConfigMap=x"}, "one of them"},
		"not PEM":  {[]string{"--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.caBundle=bm90IGEgY2VydA=="}, "base64-encoded PEM"},
		"not on":   {[]string{"--set", "webhook.clientAuth.existingConfigMap=x"}, "only used with webhook.clientAuth.enabled=true"},
		"url mode": {[]string{"--set", "tls.mode=url", "--set", "webhook.url=https://127.0.0.1:9443", "--set", "tls.caBundle=" + base64.StdEncoding.EncodeToString(pemCA), "--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.existingConfigMap=x"}, "--client-ca-file"},
	} {
		_, stderr, err := templateRaw(t, c.args...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: helm template err=%v, stderr %q; want a failure saying %q", name, err, stderr, c.want)
		}
	}
}

func checkClientCAMounted(t *testing.T, m *manifests, configMap string) {
	t.Helper()
	pod := get[appsv1.Deployment](t, m, "Deployment", "tollgate").Spec.Template.Spec
	c := pod.Containers[0]
	if !slices.Contains(c.Args, "--client-ca-file=/etc/tollgate/client-ca/ca.crt") {
		t.Errorf("args %v lack --client-ca-file", c.Args)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
		return vm.Name == "client-ca" && vm.MountPath == "/etc/tollgate/client-ca" && vm.ReadOnly
	}) {
		t.Errorf("client CA not mounted read-only at /etc/tollgate/client-ca: %+v", c.VolumeMounts)
	}
	if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool {
		return v.Name == "client-ca" && v.ConfigMap != nil && v.ConfigMap.Name == configMap
	}) {
		t.Errorf("no client-ca volume from ConfigMap %s: %+v", configMap, pod.Volumes)
	}
}
