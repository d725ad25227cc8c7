package webhook

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// ValidateWorkloadsPath is where the workload webhook is served.
const ValidateWorkloadsPath = "/validate-workloads"

// WorkloadValidator serves /validate-workloads: it checks the Pods a
// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
// Job or CronJob (or a scale of one) will create.
type WorkloadValidator struct {
	Pipeline *pipeline.Pipeline
	Recorder Recorder
	// Tracer, when set, traces each request (tracing.Provider.Tracer); nil is off.
	Tracer trace.Tracer
}

// Handle implements admission.Handler.
func (v *WorkloadValidator) Handle(ctx context.Context, ar admission.Request) admission.Response {
	return traced(ctx, v.Tracer, "validate-workloads", ValidateWorkloadsPath, ar, func(ctx context.Context, ar admission.Request) admission.Response {
		return respond(ctx, v.Recorder, "validate-workloads", "", v.validate(ctx, ar))
	})
}

func (v *WorkloadValidator) validate(ctx context.Context, ar admission.Request) result {
	req, err := decode(ar, true)
	if err != nil {
		return result{err: err}
	}
	out, err := v.Pipeline.ValidateWorkload(ctx, req)
	return result{verdict: out, err: err}
}

// APITargets reads scale targets from the API server (a live GET, since
// workloads are not cached; scale requests are rare next to Pod ones).
type APITargets struct {
	Reader client.Reader
}

// Workload implements pipeline.Targets.
func (t APITargets) Workload(ctx context.Context, resource metav1.GroupVersionResource, namespace, name string) (*workload.Workload, error) {
	var obj client.Object
	switch resource.Group + "/" + resource.Resource {
	case "apps/deployments":
		obj = &appsv1.Deployment{}
	case "apps/statefulsets":
		obj = &appsv1.StatefulSet{}
	case "apps/replicasets":
		obj = &appsv1.ReplicaSet{}
	case "/replicationcontrollers":
		obj = &corev1.ReplicationController{}
	default:
		return nil, nil
	}
	if err := t.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if apierrors.IsForbidden(err) {
			// Missing RBAC is the operator's to fix, not the user's to read about.
			ctrl.LoggerFrom(ctx).Error(err, "cannot read the target of a scale request; grant get on it to check scale-ups against quota")
			return nil, nil
		}
		return nil, fmt.Errorf("get %s %s/%s: %w", resource.Resource, namespace, name, err)
	}
	return workload.FromObject(obj)
}
