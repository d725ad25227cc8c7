package pinning

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
)

// recordPinned adds one entry per pin to the annotation that records what
// Tollgate set, after what is there (defaults keeps entries it does not
// own verbatim, so both survive reinvocation):
//
//	cpu request for container app; image reg/app:1.0 pinned to sha256:... for container app
func recordPinned(pod *corev1.Pod, pins []Pin) {
	if len(pins) == 0 {
		return
	}
	have := map[string]bool{}
	var parts []string
	for _, seg := range strings.Split(pod.Annotations[defaults.AnnotationDefaulted], ";") {
		if seg = strings.TrimSpace(seg); seg != "" && !have[seg] {
			have[seg] = true
			parts = append(parts, seg)
		}
	}
	for _, pin := range pins {
		e := fmt.Sprintf("image %s pinned to %s for %s %s", pin.Ref.Original, pin.Digest, pin.Image.Noun(), pin.Image.Name)
		if !have[e] {
			have[e] = true
			parts = append(parts, e)
		}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[defaults.AnnotationDefaulted] = strings.Join(parts, "; ")
}
