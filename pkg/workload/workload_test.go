package workload

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

func TestDecode(t *testing.T) {
	const tpl = `{metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}`
	tests := map[string]struct {
		gvk      metav1.GroupVersionKind
		manifest string
		want     Workload
	}{
		"deployment defaults: 1 replica, 25% surge rounds up to 1, 25% unavailable rounds down to 0": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			manifest: `{metadata: {name: web}, spec: {template: ` + tpl + `}}`,
			want:     Workload{Kind: KindDeployment, Name: "web", Replicas: 1, TemplatePath: "spec.template", Surge: 1, SurgeSpec: "25%"},
		},
		"deployment 10 replicas, 25% surge is 3, 25% unavailable is 2": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			manifest: `{metadata: {name: web}, spec: {replicas: 10, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindDeployment, Name: "web", Replicas: 10, TemplatePath: "spec.template", Surge: 3, SurgeSpec: "25%", Unavailable: 2},
		},
		"deployment surge 0 and unavailable 0 means unavailable 1": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			manifest: `{metadata: {name: web}, spec: {replicas: 2, strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindDeployment, Name: "web", Replicas: 2, TemplatePath: "spec.template", SurgeSpec: "0", Unavailable: 1},
		},
		"deployment recreate": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			manifest: `{metadata: {name: web}, spec: {replicas: 4, strategy: {type: Recreate}, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindDeployment, Name: "web", Replicas: 4, TemplatePath: "spec.template", Recreate: true},
		},
		"statefulset zero replicas": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"},
			manifest: `{metadata: {name: db}, spec: {replicas: 0, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindStatefulSet, Name: "db", TemplatePath: "spec.template"},
		},
		"daemonset counts one Pod": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"},
			manifest: `{metadata: {name: agent}, spec: {template: ` + tpl + `}}`,
			want:     Workload{Kind: KindDaemonSet, Name: "agent", Replicas: 1, TemplatePath: "spec.template"},
		},
		"replicaset": {
			gvk:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
			manifest: `{metadata: {name: rs}, spec: {replicas: 2, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindReplicaSet, Name: "rs", Replicas: 2, TemplatePath: "spec.template"},
		},
		"replication controller": {
			gvk:      metav1.GroupVersionKind{Version: "v1", Kind: "ReplicationController"},
			manifest: `{metadata: {name: rc}, spec: {replicas: 5, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindReplicationController, Name: "rc", Replicas: 5, TemplatePath: "spec.template"},
		},
		"job parallelism capped by completions": {
			gvk:      metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"},
			manifest: `{metadata: {name: j}, spec: {parallelism: 5, completions: 2, template: ` + tpl + `}}`,
			want:     Workload{Kind: KindJob, Name: "j", Replicas: 2, TemplatePath: "spec.template"},
		},
		"job defaults to one Pod": {
			gvk:      metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"},
			manifest: `{metadata: {name: j}, spec: {template: ` + tpl + `}}`,
			want:     Workload{Kind: KindJob, Name: "j", Replicas: 1, TemplatePath: "spec.template"},
		},
		"cronjob nested template": {
			gvk:      metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"},
			manifest: `{metadata: {name: cj}, spec: {schedule: "@daily", jobTemplate: {spec: {parallelism: 3, template: ` + tpl + `}}}}`,
			want:     Workload{Kind: KindCronJob, Name: "cj", Replicas: 3, TemplatePath: "spec.jobTemplate.spec.template"},
		},
		"scale has no template": {
			gvk:      metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"},
			manifest: `{metadata: {name: web}, spec: {replicas: 7}}`,
			want:     Workload{Kind: KindScale, Name: "web", Replicas: 7},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			js, err := sigsyaml.YAMLToJSON([]byte(tc.manifest))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(tc.gvk, js)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Kind != KindScale && (got.Template == nil || got.Template.Spec.Containers[0].Name != "c") {
				t.Errorf("template not read: %+v", got.Template)
			}
			if diff := cmp.Diff(tc.want, *got, cmpopts.IgnoreFields(Workload{}, "Template")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	pod := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	if _, err := Decode(pod, []byte(`{}`)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Pod: err %v, want ErrUnsupported", err)
	}
	dep := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	if _, err := Decode(dep, []byte(`null`)); err == nil {
		t.Error("null object accepted")
	}
	if _, err := Decode(dep, []byte(`{"spec": {"replicas": "three"}}`)); err == nil {
		t.Error("replicas as a string accepted")
	}
	beta := metav1.GroupVersionKind{Group: "apps", Version: "v1beta1", Kind: "Deployment"}
	if Supported(beta) {
		t.Error("apps/v1beta1 is not served by any supported API server and must not be read as apps/v1")
	}
}

func TestPodFromTemplate(t *testing.T) {
	w := deployment(t, template(withCPU("250m"), withAnnotation("a", "b")))
	w.Template.Spec.PriorityClassName = "high"
	pod := w.Pod()
	if pod.Namespace != "team-a" || pod.GenerateName != "web-" || pod.Labels["app"] != "web" || pod.Annotations["a"] != "b" {
		t.Errorf("metadata not carried over: %+v", pod.ObjectMeta)
	}
	if pod.Spec.PriorityClassName != "high" {
		t.Errorf("priorityClassName %q, want high", pod.Spec.PriorityClassName)
	}
	pod.Spec.Containers[0].Image = "changed"
	pod.Labels["app"] = "changed"
	if w.Template.Spec.Containers[0].Image == "changed" || w.Template.Labels["app"] == "changed" {
		t.Error("the Pod shares memory with the template: defaults would leak into it")
	}
}
