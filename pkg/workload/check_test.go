package workload

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

func TestCheckModes(t *testing.T) {
	short := `deployment "web" needs requests.cpu 3 across 3 replicas (1 each); quota "q" allows 1 more: 1 replica fits, 2 will fail to start`
	lr := corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "bounds", Namespace: "team-a"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
		}}},
	}
	tooBig := `deployment "web": its Pods will be rejected: LimitRange "bounds": container "app": maximum cpu usage per Container is 500m, but limit is 1`
	limited := func(t *testing.T) *Workload {
		w := deployment(t, replicasOf(3))
		w.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		return w
	}
	// Relayed as a warning or a reason, each keeps its code and resources.
	tooBigWarning := verdict.Warning{Code: defaults.CodeMax, Resources: []string{"limits.cpu"}, Message: "limits.max: " + tooBig}
	shortWarning := verdict.Warning{Code: quota.CodeExceeded, Resources: []string{"requests.cpu"}, Message: "quota.exceeded: " + short}
	tests := map[string]struct {
		options Options
		want    verdict.Verdict
	}{
		"warn by default": {
			options: DefaultOptions(),
			want:    verdict.Verdict{Warnings: []verdict.Warning{tooBigWarning, shortWarning}},
		},
		"deny quota only": {
			options: Options{Enabled: true, Quota: ModeDeny, Limits: ModeWarn},
			want: verdict.Verdict{
				Reasons:  []verdict.Reason{{Code: quota.CodeExceeded, Path: "spec.replicas", Message: short, Resources: []string{"requests.cpu"}}},
				Warnings: []verdict.Warning{tooBigWarning},
			},
		},
		"deny limits only": {
			options: Options{Enabled: true, Quota: ModeWarn, Limits: ModeDeny},
			want: verdict.Verdict{
				Reasons: []verdict.Reason{{Code: defaults.CodeMax, Path: "spec.template.spec.containers[0].resources.limits.cpu",
					Message: tooBig, Resources: []string{"limits.cpu"}}},
				Warnings: []verdict.Warning{shortWarning},
			},
		},
		"off": {
			options: Options{Enabled: true, Quota: ModeOff, Limits: ModeOff, Policies: ModeOff},
			want:    verdict.Verdict{},
		},
		"disabled": {
			options: Options{Enabled: false, Quota: ModeDeny, Limits: ModeDeny, Policies: ModeDeny},
			want:    verdict.Verdict{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Check(t.Context(), Input{
				Object: limited(t), Quotas: []corev1.ResourceQuota{cpuQuota("q", "4", "3")},
				Limits: defaults.Inputs{LimitRanges: []corev1.LimitRange{lr}}, Options: tc.options,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckDefaultsStayOffTheTemplate(t *testing.T) {
	w := deployment(t, replicasOf(2), template())
	lr := corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "team-a"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
		}}},
	}
	got, err := Check(t.Context(), Input{
		Object: w, Quotas: []corev1.ResourceQuota{cpuQuota("q", "4", "1")},
		Limits: defaults.Inputs{LimitRanges: []corev1.LimitRange{lr}}, Options: DefaultOptions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`quota.exceeded: deployment "web" needs requests.cpu 4 across 2 replicas (2 each); quota "q" allows 3 more: 1 replica fits, 1 will fail to start`}
	if diff := cmp.Diff(want, got.WarningMessages()); diff != "" {
		t.Errorf("the defaulted request must count (-want +got):\n%s", diff)
	}
	if len(w.Template.Spec.Containers[0].Resources.Requests) != 0 || len(w.Template.Annotations) != 0 {
		t.Errorf("defaults leaked into the template: %+v", w.Template)
	}
}

func TestCheckCopies(t *testing.T) {
	pod := func(cpu string) *corev1.Pod {
		p := deployment(t, template(withCPU(cpu))).Pod()
		return p
	}
	tests := map[string]struct {
		in        quota.CopiesInput
		wantFit   int
		wantShort int
		wantCodes []string
	}{
		"exact decimal arithmetic: 300m free takes three 100m Pods": {
			in:      quota.CopiesInput{Pod: pod("100m"), Copies: 5, Quotas: []corev1.ResourceQuota{cpuQuota("q", "1", "700m")}},
			wantFit: 3, wantShort: 1,
		},
		"everything fits": {
			in:      quota.CopiesInput{Pod: pod("1"), Copies: 3, Quotas: []corev1.ResourceQuota{cpuQuota("q", "4", "1")}},
			wantFit: 3,
		},
		"used above hard: nothing free, nothing fits": {
			in:      quota.CopiesInput{Pod: pod("1"), Copies: 2, Quotas: []corev1.ResourceQuota{cpuQuota("q", "4", "6")}},
			wantFit: 0, wantShort: 1,
		},
		"freed old Pods make room": {
			in: quota.CopiesInput{Pod: pod("1"), Copies: 4, Freed: pod("1"), FreedCopies: 4,
				Quotas: []corev1.ResourceQuota{cpuQuota("q", "4", "4")}},
			wantFit: 4,
		},
		"the tightest quota decides": {
			in: quota.CopiesInput{Pod: pod("1"), Copies: 4,
				Quotas: []corev1.ResourceQuota{cpuQuota("a", "10", "8"), cpuQuota("b", "10", "9")}},
			wantFit: 1, wantShort: 2,
		},
		"status unknown blocks every copy": {
			in: quota.CopiesInput{Pod: pod("1"), Copies: 2, Quotas: []corev1.ResourceQuota{{
				ObjectMeta: metav1.ObjectMeta{Name: "fresh", Namespace: "team-a"},
				Status:     corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("4")}},
			}}},
			wantFit: 0, wantCodes: []string{quota.CodeStatusUnknown},
		},
		"another namespace's quota is ignored": {
			in: quota.CopiesInput{Pod: pod("1"), Copies: 2, Quotas: []corev1.ResourceQuota{func() corev1.ResourceQuota {
				q := cpuQuota("q", "1", "1")
				q.Namespace = "team-b"
				return q
			}()}},
			wantFit: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := quota.CheckCopies(tc.in)
			var codes []string
			for _, b := range got.Blockers {
				codes = append(codes, b.Code)
			}
			if got.Fit != tc.wantFit || len(got.Short) != tc.wantShort || !cmp.Equal(codes, tc.wantCodes) {
				t.Errorf("fit %d, %d shortfalls, blockers %v; want fit %d, %d shortfalls, blockers %v",
					got.Fit, len(got.Short), codes, tc.wantFit, tc.wantShort, tc.wantCodes)
			}
		})
	}
}

func TestOutcomeWording(t *testing.T) {
	dep := &Workload{Kind: KindDeployment}
	job := &Workload{Kind: KindJob}
	tests := map[string]struct {
		got, want string
	}{
		"some fit":          {outcome(2, 3, dep), "2 replicas fit, 1 will fail to start"},
		"one fits":          {outcome(1, 3, dep), "1 replica fits, 2 will fail to start"},
		"none of several":   {outcome(0, 3, dep), "none fits, all 3 will fail to start"},
		"the only one":      {outcome(0, 1, dep), "the replica will fail to start"},
		"the only new one":  {outcome(0, 1, dep, "new"), "the new replica will fail to start"},
		"jobs":              {outcome(2, 4, job), "2 parallel Pods fit, 2 will fail to start"},
		"surge partly fits": {surgeOutcome(1, 2, &Workload{Unavailable: 1}), "only 1 of the 2 surge Pods can start, so the rollout goes slower"},
		"surge stalls":      {surgeOutcome(0, 1, &Workload{}), "no new Pod can start and, with maxUnavailable 0, the rollout will stall"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
