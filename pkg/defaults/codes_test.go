package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// coded is a warning or reason as metrics read it.
type coded struct {
	Code      string
	Resources []string
}

// TestCodesAndResources: Apply's warnings and Validate's reasons name
// their code and the resources they concern as "limits.<name>" or
// "requests.<name>", whatever their messages say.
func TestCodesAndResources(t *testing.T) {
	lr := func(items ...corev1.LimitRangeItem) Inputs {
		return Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", items...)}}
	}
	tests := map[string]struct {
		pod                    *corev1.Pod
		inputs                 Inputs
		wantWarns, wantReasons []coded
	}{
		"LimitRange default limit below the request": {
			pod: pod(ctr("c", req("memory", "512Mi"))), inputs: lr(containerItem(defLimit("memory", "10Mi"))),
			wantWarns:   []coded{{CodeLimitBelowRequest, []string{"limits.memory"}}},
			wantReasons: []coded{{CodeInvalid, []string{"requests.memory", "limits.memory"}}},
		},
		"profile default limit raised to the request": {
			pod:       pod(ctr("c", req("memory", "512Mi"))),
			inputs:    Inputs{Profiles: []Profile{profile("p", containerItem(defLimit("memory", "10Mi")))}},
			wantWarns: []coded{{CodeLimitRaised, []string{"limits.memory"}}},
		},
		"two LimitRanges disagree on a default limit and request": {
			pod: pod(ctr("c")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{
				limitRange("a", containerItem(defLimit("cpu", "500m"), defReq("cpu", "100m"))),
				limitRange("b", containerItem(defLimit("cpu", "1"), defReq("cpu", "200m"))),
			}},
			wantWarns: []coded{{CodeConflict, []string{"limits.cpu"}}, {CodeConflict, []string{"requests.cpu"}}},
		},
		"limit above max": {
			pod: pod(ctr("c", both("cpu", "2"))), inputs: lr(containerItem(maxOf("cpu", "1"))),
			wantReasons: []coded{{CodeMax, []string{"limits.cpu"}}},
		},
		"request below min": {
			pod: pod(ctr("c", req("memory", "512Mi"))), inputs: lr(containerItem(minOf("memory", "1Gi"))),
			wantReasons: []coded{{CodeMin, []string{"requests.memory"}}},
		},
		"limit to request ratio above the max": {
			pod: pod(ctr("c", req("cpu", "100m"), lim("cpu", "1"))), inputs: lr(containerItem(ratioOf("cpu", "2"))),
			wantReasons: []coded{{CodeRatio, []string{"limits.cpu"}}},
		},
		"zero request under a ratio": {
			pod: pod(ctr("c", lim("cpu", "1"), req("cpu", "0"))), inputs: lr(containerItem(ratioOf("cpu", "2"))),
			wantReasons: []coded{{CodeRatio, []string{"requests.cpu"}}},
		},
		"request above its limit": {
			pod: pod(ctr("c", req("cpu", "2"), lim("cpu", "1"))), inputs: lr(containerItem(maxOf("memory", "1Gi"))),
			wantReasons: []coded{{CodeInvalid, []string{"requests.cpu", "limits.cpu"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := Apply(tc.pod, tc.inputs)
			var warns, reasons []coded
			for _, w := range res.Warnings {
				warns = append(warns, coded{w.Code, w.Resources})
			}
			for _, r := range Validate(tc.pod, tc.inputs).Reasons {
				reasons = append(reasons, coded{r.Code, r.Resources})
			}
			if diff := cmp.Diff(tc.wantWarns, warns); diff != "" {
				t.Errorf("Apply warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantReasons, reasons); diff != "" {
				t.Errorf("Validate reasons (-want +got):\n%s", diff)
			}
		})
	}
}
