package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tollgate-dev/tollgate/pkg/apidefaults"
)

// Kinds of workloads, as in their TypeMeta.
const (
	KindDeployment            = "Deployment"
	KindStatefulSet           = "StatefulSet"
	KindDaemonSet             = "DaemonSet"
	KindReplicaSet            = "ReplicaSet"
	KindReplicationController = "ReplicationController"
	KindJob                   = "Job"
	KindCronJob               = "CronJob"
	// KindScale is the autoscaling/v1 Scale of a scale subresource request.
	KindScale = "Scale"
)

// ErrUnsupported is returned for a kind this package does not read.
var ErrUnsupported = errors.New("not a supported workload kind")

// Workload is what the checks need to know about one workload object.
type Workload struct {
	Kind      string
	Name      string
	Namespace string
	// Replicas is how many Pods of the template run at once: spec.replicas
	// (default 1); for a Job or CronJob, parallelism (default 1) capped by
	// completions; for a DaemonSet, 1 per node; for a Scale, spec.replicas.
	Replicas int
	// Template is the Pod template; nil for a Scale (its target has it).
	Template *corev1.PodTemplateSpec
	// TemplatePath is where Template sits in the object, for field paths.
	TemplatePath string
	// Surge is the extra Pods a rollout starts before stopping old ones
	// (a Deployment's RollingUpdate maxSurge resolved against Replicas,
	// percentages rounded up); SurgeSpec is maxSurge as written.
	Surge     int
	SurgeSpec string
	// Unavailable is maxUnavailable resolved (rounded down), i.e. how many old
	// Pods a rollout may stop before new ones are ready.
	Unavailable int
	// Recreate is a Deployment whose old Pods all stop before new ones start.
	Recreate bool
}

// PerNode reports a DaemonSet, whose Pod count is the number of nodes.
func (w *Workload) PerNode() bool { return w.Kind == KindDaemonSet }

// Batch reports a Job or CronJob, whose Pods run to completion.
func (w *Workload) Batch() bool { return w.Kind == KindJob || w.Kind == KindCronJob }

// Subject names the workload the way kubectl does: deployment "web".
func (w *Workload) Subject() string {
	return fmt.Sprintf("%s %q", strings.ToLower(w.Kind), w.Name)
}

// Supported reports whether Decode reads objects of this kind.
func Supported(gvk metav1.GroupVersionKind) bool {
	switch gvk.Group + "/" + gvk.Version + "/" + gvk.Kind {
	case "apps/v1/Deployment", "apps/v1/StatefulSet", "apps/v1/DaemonSet", "apps/v1/ReplicaSet",
		"/v1/ReplicationController", "batch/v1/Job", "batch/v1/CronJob", "autoscaling/v1/Scale":
		return true
	}
	return false
}

// Decode reads a workload object (JSON) of the given kind.
func Decode(gvk metav1.GroupVersionKind, raw []byte) (*Workload, error) {
	data := bytes.TrimSpace(raw)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, errors.New("object is empty")
	}
	if !Supported(gvk) {
		return nil, fmt.Errorf("kind %s: %w", gvk.String(), ErrUnsupported)
	}
	var obj any
	switch gvk.Kind {
	case KindDeployment:
		obj = &appsv1.Deployment{}
	case KindStatefulSet:
		obj = &appsv1.StatefulSet{}
	case KindDaemonSet:
		obj = &appsv1.DaemonSet{}
	case KindReplicaSet:
		obj = &appsv1.ReplicaSet{}
	case KindReplicationController:
		obj = &corev1.ReplicationController{}
	case KindJob:
		obj = &batchv1.Job{}
	case KindCronJob:
		obj = &batchv1.CronJob{}
	case KindScale:
		obj = &autoscalingv1.Scale{}
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", gvk.Kind, err)
	}
	return FromObject(obj)
}

// FromObject reads a typed workload object (a pointer to one of the
// supported API types).
func FromObject(obj any) (*Workload, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		w := newWorkload(KindDeployment, o.ObjectMeta, replicas(o.Spec.Replicas), &o.Spec.Template, "spec.template")
		deploymentStrategy(w, o.Spec.Strategy)
		return w, nil
	case *appsv1.StatefulSet:
		return newWorkload(KindStatefulSet, o.ObjectMeta, replicas(o.Spec.Replicas), &o.Spec.Template, "spec.template"), nil
	case *appsv1.DaemonSet:
		return newWorkload(KindDaemonSet, o.ObjectMeta, 1, &o.Spec.Template, "spec.template"), nil
	case *appsv1.ReplicaSet:
		return newWorkload(KindReplicaSet, o.ObjectMeta, replicas(o.Spec.Replicas), &o.Spec.Template, "spec.template"), nil
	case *corev1.ReplicationController:
		return newWorkload(KindReplicationController, o.ObjectMeta, replicas(o.Spec.Replicas), o.Spec.Template, "spec.template"), nil
	case *batchv1.Job:
		return newWorkload(KindJob, o.ObjectMeta, parallel(o.Spec), &o.Spec.Template, "spec.template"), nil
	case *batchv1.CronJob:
		return newWorkload(KindCronJob, o.ObjectMeta, parallel(o.Spec.JobTemplate.Spec), &o.Spec.JobTemplate.Spec.Template, "spec.jobTemplate.spec.template"), nil
	case *autoscalingv1.Scale:
		return newWorkload(KindScale, o.ObjectMeta, int(o.Spec.Replicas), nil, ""), nil
	}
	return nil, fmt.Errorf("%T: %w", obj, ErrUnsupported)
}

func newWorkload(kind string, meta metav1.ObjectMeta, n int, t *corev1.PodTemplateSpec, path string) *Workload {
	w := &Workload{Kind: kind, Name: meta.Name, Namespace: meta.Namespace, Replicas: n, TemplatePath: path}
	if t != nil {
		w.Template = t.DeepCopy()
	}
	return w
}

// replicas is spec.replicas with the API server's default of 1.
func replicas(n *int32) int {
	if n == nil {
		return 1
	}
	return int(*n)
}

// parallel is how many Pods of a Job run at once: parallelism (default 1),
// never more than completions when that is set.
func parallel(spec batchv1.JobSpec) int {
	n := 1
	if spec.Parallelism != nil {
		n = int(*spec.Parallelism)
	}
	if spec.Completions != nil && int(*spec.Completions) < n {
		n = int(*spec.Completions)
	}
	return n
}

// deploymentStrategy resolves maxSurge (rounded up) and maxUnavailable
// (rounded down) against replicas, as the deployment controller does; the
// API server's defaults (RollingUpdate, 25% and 25%) fill what is unset.
func deploymentStrategy(w *Workload, s appsv1.DeploymentStrategy) {
	if s.Type == appsv1.RecreateDeploymentStrategyType {
		w.Recreate = true
		return
	}
	surge, unavailable := intstr.FromString("25%"), intstr.FromString("25%")
	if ru := s.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavailable = *ru.MaxUnavailable
		}
	}
	w.SurgeSpec = surge.String()
	if n, err := intstr.GetScaledValueFromIntOrPercent(&surge, w.Replicas, true); err == nil && n > 0 {
		w.Surge = n
	}
	if n, err := intstr.GetScaledValueFromIntOrPercent(&unavailable, w.Replicas, false); err == nil && n > 0 {
		w.Unavailable = n
	}
	if w.Surge == 0 && w.Unavailable == 0 {
		w.Unavailable = 1 // the controller's rule: both resolving to 0 means maxUnavailable 1
	}
}

// Pod is the Pod a controller would create from the template, as
// admission sees it: namespace, labels, annotations and spec
// (priorityClassName, runtimeClassName, overhead and all) come from the
// template, then the API server's own defaulting (requests from limits,
// pull policies) is applied, as it is to every Pod before admission.
func (w *Workload) Pod() *corev1.Pod {
	if w.Template == nil {
		return nil
	}
	t := w.Template.DeepCopy()
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: w.Name + "-",
			Namespace:    w.Namespace,
			Labels:       t.Labels,
			Annotations:  t.Annotations,
		},
		Spec: t.Spec,
	}
	apidefaults.Pod(pod)
	return pod
}
