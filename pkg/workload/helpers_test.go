package workload

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podOption shapes the pod template of a test workload.
type podOption func(*corev1.PodTemplateSpec)

func withCPU(cpu string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
}

func withImage(image string) podOption {
	return func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Image = image }
}

func withAnnotation(k, v string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[k] = v
	}
}

func podTemplate(opts ...podOption) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1"}}},
	}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// deployOption shapes a test Deployment.
type deployOption func(*appsv1.Deployment)

func replicasOf(n int32) deployOption { return func(d *appsv1.Deployment) { d.Spec.Replicas = &n } }

func surgeOf(surge, unavailable string) deployOption {
	return func(d *appsv1.Deployment) {
		s, u := intstr.Parse(surge), intstr.Parse(unavailable)
		d.Spec.Strategy = appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u},
		}
	}
}

func recreate() deployOption {
	return func(d *appsv1.Deployment) {
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
}

func template(opts ...podOption) deployOption {
	return func(d *appsv1.Deployment) { d.Spec.Template = podTemplate(opts...) }
}

func deployment(t *testing.T, opts ...deployOption) *Workload {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec:       appsv1.DeploymentSpec{Template: podTemplate(withCPU("1"))},
	}
	for _, o := range opts {
		o(d)
	}
	w, err := FromObject(d)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// cpuQuota is a requests.cpu quota with hard and used.
func cpuQuota(name, hard, used string) corev1.ResourceQuota {
	return corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a"},
		Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(hard)},
			Used: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(used)},
		},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
