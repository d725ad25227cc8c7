// Package workload is the realistic admission workload the benchmarks, the
// load generator and the end-to-end latency runs share: one namespace with
// 5 LimitRanges and 10 ResourceQuotas, a Tollgate config with every shipped
// policy on, and Pods with 3 containers, 1 init container and 2 sidecars
// in four flavours (good, needs defaults, denied by policy, denied by quota).
package workload

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Namespace is the namespace every workload Pod is created in.
const Namespace = "bench"

// Config is the Tollgate config of the workload: quota predictions deny and
// warn at 90%, allowed-registries and disallowed-tags deny, require-digest
// warns, pull-policy-always is off (its default).
const Config = `apiVersion: tollgate.dev/v1alpha1
kind: Config
quota:
  mode: deny
  warnThreshold: 90
policies:
  failureMode: closed
  settings:
    allowed-registries:
      action: deny
      parameters:
        registries: ["ghcr.io/acme/*", "docker.io/library", "registry.k8s.io"]
    disallowed-tags:
      action: deny
      parameters: {tags: [latest, dev]}
    require-digest: {action: warn}
`

// Kind names a Pod flavour of the mix.
type Kind string

// The flavours of the mix.
const (
	Good          Kind = "good"           // every resource set, allowed, no patch
	NeedsDefaults Kind = "needs-defaults" // two containers and a sidecar without resources: patched, then allowed
	PolicyDenied  Kind = "policy-denied"  // a sidecar from an unlisted registry with :latest
	QuotaDenied   Kind = "quota-denied"   // asks for more memory than the quotas have left
)

// Kinds is the mix, in order.
var Kinds = []Kind{Good, NeedsDefaults, PolicyDenied, QuotaDenied}

func q(s string) resource.Quantity { return resource.MustParse(s) }

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = q(kv[i+1])
	}
	return l
}

// NamespaceObject is the workload namespace.
func NamespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelMetadataName: name, "team": "payments", "tier": "prod", "tollgate.dev/profile": "team"}},
	}
}

// LimitRanges are the namespace's 5 LimitRanges: cpu, memory and
// ephemeral-storage defaults and bounds per container, a Pod maximum and a
// limit/request ratio. Every workload Pod except QuotaDenied fits them.
func LimitRanges(namespace string) []corev1.LimitRange {
	mk := func(name string, items ...corev1.LimitRangeItem) corev1.LimitRange {
		return corev1.LimitRange{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec:       corev1.LimitRangeSpec{Limits: items},
		}
	}
	ctr := corev1.LimitTypeContainer
	return []corev1.LimitRange{
		mk("lr-01-cpu", corev1.LimitRangeItem{Type: ctr, Default: list("cpu", "500m"), DefaultRequest: list("cpu", "100m"), Max: list("cpu", "16"), Min: list("cpu", "10m")}),
		mk("lr-02-memory", corev1.LimitRangeItem{Type: ctr, Default: list("memory", "512Mi"), DefaultRequest: list("memory", "128Mi"), Max: list("memory", "256Gi"), Min: list("memory", "16Mi")}),
		mk("lr-03-storage", corev1.LimitRangeItem{Type: ctr, Default: list("ephemeral-storage", "1Gi"), DefaultRequest: list("ephemeral-storage", "100Mi"), Max: list("ephemeral-storage", "100Gi")}),
		mk("lr-04-pod", corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: list("cpu", "64", "memory", "512Gi")}),
		mk("lr-05-ratio", corev1.LimitRangeItem{Type: ctr, MaxLimitRequestRatio: list("cpu", "50")}),
	}
}

// Quotas are the namespace's 10 ResourceQuotas with status (hard and
// used), in mixed scopes. QuotaDenied exceeds requests.memory.
func Quotas(namespace string) []corev1.ResourceQuota {
	out := make([]corev1.ResourceQuota, 0, 10)
	for i := range 10 {
		hard := list("requests.cpu", "1000", "limits.cpu", "2000", "requests.memory", "200Gi", "limits.memory", "400Gi",
			"pods", "100000")
		spec := corev1.ResourceQuotaSpec{Hard: hard}
		switch i % 4 {
		case 1:
			spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}
		case 2:
			spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
				ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high", "critical"},
			}}}
		case 3:
			spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating}
		}
		out = append(out, corev1.ResourceQuota{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("quota-%02d", i), Namespace: namespace},
			Spec:       spec,
			Status: corev1.ResourceQuotaStatus{
				Hard: hard.DeepCopy(),
				Used: list("requests.cpu", "40", "limits.cpu", "80", "requests.memory", "90Gi", "limits.memory", "150Gi",
					"pods", "120"),
			},
		})
	}
	return out
}

const digest = "sha256:4b8e6b3f0c7d2a1e9f5c3b7a6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f80912"

func env(prefix string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, 6)
	for i := range 5 {
		out = append(out, corev1.EnvVar{Name: fmt.Sprintf("%s_VAR_%d", prefix, i), Value: fmt.Sprintf("value-%d", i)})
	}
	return append(out, corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}})
}

func container(name, image string, res corev1.ResourceRequirements) corev1.Container {
	return corev1.Container{
		Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
		Args:         []string{"--port=8080", "--log-level=info"},
		Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env:          env(name),
		Resources:    res,
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "config", MountPath: "/etc/app", ReadOnly: true}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func full(cpu, mem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: list("cpu", cpu, "memory", mem, "ephemeral-storage", "200Mi"),
		Limits:   list("cpu", "2", "memory", "1Gi", "ephemeral-storage", "2Gi"),
	}
}

// Pod returns a workload Pod of the given kind, named name, in namespace.
// The API server has set its UID, as it does before calling webhooks.
func Pod(kind Kind, namespace, name string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	p := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, UID: types.UID("00000000-0000-4000-8000-" + fmt.Sprintf("%012d", len(name))),
			Labels:      map[string]string{"app": "checkout", "tier": "backend", "team": "payments", "version": "1.4.2", "pod-template-hash": "7d9f8c6b5"},
			Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{
				container("migrate", "ghcr.io/acme/migrate:1.4.2@"+digest, full("500m", "256Mi")),
				container("proxy", "ghcr.io/acme/proxy:2.1.0", full("100m", "64Mi")),
				container("log-shipper", "docker.io/library/fluent-bit:3.1", full("50m", "64Mi")),
			},
			Containers: []corev1.Container{
				container("app", "ghcr.io/acme/checkout:1.4.2@"+digest, full("1", "512Mi")),
				container("worker", "ghcr.io/acme/checkout-worker:1.4.2", full("250m", "256Mi")),
				container("metrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0", full("50m", "64Mi")),
			},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "checkout-config"}}}},
			},
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst,
			TerminationGracePeriodSeconds: ptr.To[int64](30), ServiceAccountName: "default", SchedulerName: "default-scheduler",
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)},
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			},
			EnableServiceLinks: ptr.To(true), PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority),
		},
	}
	p.Spec.InitContainers[0].ReadinessProbe = nil // only sidecars may have probes
	p.Spec.InitContainers[0].Ports = nil
	p.Spec.InitContainers[1].RestartPolicy = &always
	p.Spec.InitContainers[2].RestartPolicy = &always
	switch kind {
	case NeedsDefaults:
		p.Spec.Containers[1].Resources = corev1.ResourceRequirements{}
		p.Spec.Containers[2].Resources = corev1.ResourceRequirements{}
		p.Spec.InitContainers[2].Resources = corev1.ResourceRequirements{}
	case PolicyDenied:
		p.Spec.InitContainers[2].Image = "quay.io/randomuser/toolbox:latest"
	case QuotaDenied:
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: list("cpu", "1", "memory", "150Gi", "ephemeral-storage", "200Mi"),
			Limits:   list("cpu", "2", "memory", "150Gi", "ephemeral-storage", "2Gi"),
		}
	}
	return p
}

// Review wraps pod in a CREATE AdmissionReview as the API server sends it.
// dryRun marks it a dry run: load runs set it so that the quota ledger does
// not accumulate charges for tens of thousands of identical Pods that are
// never stored (BenchmarkLedgerCheck in pkg/quota measures recording).
func Review(pod *corev1.Pod, uid string, dryRun bool) *admissionv1.AdmissionReview {
	raw, err := json.Marshal(pod)
	if err != nil {
		panic(err) // static, well-formed objects
	}
	return &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:             types.UID(uid),
			Kind:            metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:        metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			RequestKind:     &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			RequestResource: &metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Name:            pod.Name,
			Namespace:       pod.Namespace,
			Operation:       admissionv1.Create,
			UserInfo:        authenticationv1.UserInfo{Username: "system:serviceaccount:kube-system:replicaset-controller", UID: "7f0b5a52-2c1e-4f5e-9d7a-1c0e3f4a5b6c", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}},
			Object:          runtime.RawExtension{Raw: raw},
			DryRun:          ptr.To(dryRun),
			Options:         runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kube-controller-manager"}`)},
		},
	}
}

// ReviewJSON is Review, marshalled.
func ReviewJSON(pod *corev1.Pod, uid string, dryRun bool) []byte {
	b, err := json.Marshal(Review(pod, uid, dryRun))
	if err != nil {
		panic(err)
	}
	return b
}
