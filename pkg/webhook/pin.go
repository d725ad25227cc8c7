package webhook

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tollgate-dev/tollgate/pkg/imagepin"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// ReasonPinning is the reason code of a Pod refused because a tag could
// not be pinned and pinning.onError is deny.
const ReasonPinning = "pinning.unresolved"

// pinned is what pinning did to one Pod.
type pinned struct {
	pod      *corev1.Pod // the Pod with digests written; nil when nothing changed
	warnings []string
	denial   *verdict.Verdict
}

// pin resolves and pins the image tags of mutated (the defaulted Pod) on
// CREATE. It works on a deep copy: mutated shares its image fields with the
// Pod the API server sent, which the patch is diffed against.
func pin(ctx context.Context, h *imagepin.Holder, op, namespace string, mutated *corev1.Pod) (pinned, error) {
	p := h.Load()
	if op != "CREATE" || !p.Enabled() {
		return pinned{}, nil
	}
	cp := mutated.DeepCopy()
	out, err := p.Pin(ctx, namespace, cp)
	if err != nil {
		return pinned{}, fmt.Errorf("pin image tags: %w", err)
	}
	res := pinned{warnings: out.Warnings}
	if len(out.Denials) > 0 {
		v := verdict.Verdict{Warnings: out.Warnings}
		for _, d := range out.Denials {
			v.Reasons = append(v.Reasons, verdict.Reason{Code: ReasonPinning, Message: d})
		}
		res.denial = &v
		return res, nil
	}
	if len(out.Pinned) > 0 {
		res.pod = cp
		ctrl.LoggerFrom(ctx).V(1).Info("image tags pinned", "count", len(out.Pinned))
	}
	return res, nil
}
