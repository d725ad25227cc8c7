package policy

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

func TestShippedPolicies(t *testing.T) {
	e := shipped(t)
	want := []string{"allowed-registries", "disallowed-tags", "pull-policy-always", "require-attestation", "require-digest", "require-signature"}
	if diff := cmp.Diff(want, e.Policies()); diff != "" {
		t.Errorf("Policies() (-want +got):\n%s", diff)
	}
	defaults := map[string]string{}
	for _, p := range e.Describe() {
		defaults[p.Name] = p.DefaultAction
		if p.Description == "" {
			t.Errorf("policy %s has no description", p.Name)
		}
	}
	wantDefaults := map[string]string{"allowed-registries": "deny", "disallowed-tags": "deny", "pull-policy-always": "off", "require-attestation": "deny", "require-digest": "off", "require-signature": "deny"}
	if diff := cmp.Diff(wantDefaults, defaults); diff != "" {
		t.Errorf("default actions (-want +got):\n%s", diff)
	}
}

func TestEvaluateShipped(t *testing.T) {
	acme := map[string]Rule{"allowed-registries": registries("ghcr.io/acme/*")}
	tests := map[string]struct {
		in       Input
		settings Settings
		want     verdict.Verdict
	}{
		"defaults admit a versioned image": {
			in: create(pod(container("app", "evil.io/x:1"))),
		},
		"defaults deny an untagged image": {
			in: create(pod(container("app", "nginx"))),
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.disallowed-tags",
				Path:    "spec.containers[0].image",
				Message: `[disallowed-tags] container "app" image "nginx" uses tag "latest" (implicit: no tag given), which is not allowed (disallowed tags: latest); pin a version or a digest`,
			}}},
		},
		"registry not allowed": {
			in:       create(pod(container("app", "evil.io/x:1"))),
			settings: Settings{Rules: acme},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.allowed-registries",
				Path:    "spec.containers[0].image",
				Message: `[allowed-registries] container "app" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`,
			}}},
		},
		"look-alike organisation": {
			in:       create(pod(container("app", "ghcr.io/acme-evil/app:1"))),
			settings: Settings{Rules: acme},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.allowed-registries",
				Path:    "spec.containers[0].image",
				Message: `[allowed-registries] container "app" image "ghcr.io/acme-evil/app:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`,
			}}},
		},
		"warn action turns the reason into a warning": {
			in:       create(pod(container("app", "evil.io/x:1"))),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": withAction(registries("ghcr.io/acme/*"), "warn")}},
			want: verdict.Verdict{Warnings: []verdict.Warning{{Code: "policy.allowed-registries",
				Message: `[allowed-registries] container "app" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`}}},
		},
		"dryrun action shows nothing": {
			in:       create(pod(container("app", "evil.io/x:1"))),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": withAction(registries("ghcr.io/acme/*"), "dryrun")}},
		},
		"off action skips the policy": {
			in:       create(pod(container("app", "nginx"))),
			settings: Settings{Rules: map[string]Rule{"disallowed-tags": {Action: "off"}}},
		},
		"require-digest when enabled": {
			in:       create(pod(initContainer("init", "busybox:1"), container("app", "nginx@sha256:"+hex64))),
			settings: Settings{Rules: map[string]Rule{"require-digest": {Action: "deny"}}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.require-digest",
				Path:    "spec.initContainers[0].image",
				Message: `[require-digest] init container "init" image "busybox:1" is not pinned to a sha256 digest (want <image>@sha256:<64 lowercase hex digits>)`,
			}}},
		},
		"pull-policy-always when enabled": {
			in:       create(pod(containerPull("app", "nginx:1", corev1.PullIfNotPresent), containerPull("pinned", "nginx@sha256:"+hex64, corev1.PullIfNotPresent))),
			settings: Settings{Rules: map[string]Rule{"pull-policy-always": {Action: "deny"}}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.pull-policy-always",
				Path:    "spec.containers[0].imagePullPolicy",
				Message: `[pull-policy-always] container "app" image "nginx:1" is not pinned to a digest, so imagePullPolicy must be Always (got "IfNotPresent")`,
			}}},
		},
		"namespace exempt by label": {
			in: func() Input {
				in := create(pod(container("app", "evil.io/x:1")))
				in.Namespace = namespace("team-a", map[string]string{"tollgate.dev/exempt": "true"})
				return in
			}(),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": withExemptNS(registries("ghcr.io/acme/*"), map[string]string{"tollgate.dev/exempt": "true"})}},
		},
		"namespace exempt by name without a Namespace object": {
			in:       create(pod(container("app", "evil.io/x:1"))),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": withExemptNS(registries("ghcr.io/acme/*"), map[string]string{corev1.LabelMetadataName: "team-a"})}},
		},
		"empty exemptNamespaces selector exempts nothing": {
			in: create(pod(container("app", "evil.io/x:1"))),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": func() Rule {
				r := registries("ghcr.io/acme/*")
				r.ExemptNamespaces = &metav1.LabelSelector{}
				return r
			}()}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.allowed-registries",
				Path:    "spec.containers[0].image",
				Message: `[allowed-registries] container "app" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`,
			}}},
		},
		"other namespace not exempt": {
			in: func() Input {
				in := create(pod(container("app", "evil.io/x:1")))
				in.Namespace = namespace("team-a", nil)
				return in
			}(),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": withExemptNS(registries("ghcr.io/acme/*"), map[string]string{"tollgate.dev/exempt": "true"})}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.allowed-registries",
				Path:    "spec.containers[0].image",
				Message: `[allowed-registries] container "app" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`,
			}}},
		},
		"exempt image dropped, other container still denied": {
			in: create(pod(container("pause", "registry.k8s.io/pause:3.10"), container("app", "evil.io/x:1"))),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": func() Rule {
				r := registries("ghcr.io/acme/*")
				r.ExemptImages = []string{"registry.k8s.io/pause"}
				return r
			}()}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.allowed-registries",
				Path:    "spec.containers[1].image",
				Message: `[allowed-registries] container "app" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`,
			}}},
		},
		"ephemeral container added by kubectl debug": {
			in: Input{
				Request:   Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Namespace: "team-a", Name: "web"},
				Object:    pod(container("app", "nginx"), ephemeral("old", "busybox"), ephemeral("debugger", "busybox")),
				OldObject: pod(container("app", "nginx"), ephemeral("old", "busybox")),
			},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    "policy.disallowed-tags",
				Path:    "spec.ephemeralContainers[1].image",
				Message: `[disallowed-tags] ephemeral container "debugger" image "busybox" uses tag "latest" (implicit: no tag given), which is not allowed (disallowed tags: latest); pin a version or a digest`,
			}}},
		},
		"failure mode closed on a bad pattern": {
			in:       create(pod(container("app", "nginx:1"))),
			settings: Settings{Rules: map[string]Rule{"allowed-registries": registries("ghcr.io/acme-*")}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    CodeError,
				Message: `[allowed-registries] policy could not be evaluated (failureMode closed): ` + badPatternErr,
			}}},
		},
		"unknown action fails closed": {
			in:       create(pod(container("app", "nginx:1"))),
			settings: Settings{Rules: map[string]Rule{"require-digest": {Action: "block"}}},
			want: verdict.Verdict{Reasons: []verdict.Reason{{
				Code:    CodeError,
				Message: `[require-digest] policy could not be evaluated (failureMode closed): unknown action "block"`,
			}}},
		},
		"failure mode open on a bad pattern": {
			in:       create(pod(container("app", "nginx:1"))),
			settings: Settings{FailureMode: "open", Rules: map[string]Rule{"allowed-registries": registries("ghcr.io/acme-*")}},
			want: verdict.Verdict{Warnings: []verdict.Warning{{Code: CodeError,
				Message: `[allowed-registries] policy could not be evaluated and was skipped (failureMode open): ` + badPatternErr}}},
		},
	}
	e := shipped(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := e.Evaluate(t.Context(), tc.in, tc.settings)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreLines); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

// ignoreLines compares messages with Rego line numbers masked, so editing a
// policy does not break unrelated expectations.
var ignoreLines = cmp.Transformer("maskLines", func(s string) string {
	return regoLine.ReplaceAllString(s, ".rego:N:")
})

var regoLine = regexp.MustCompile(`\.rego:\d+:`)

const badPatternErr = `allowed_registries.rego:49: eval_builtin_error: tollgate.image.matches: image pattern "ghcr.io/acme-*": "acme-*": "*" must be a whole segment`

func withAction(r Rule, a string) Rule { r.Action = a; return r }

func withExemptNS(r Rule, labels map[string]string) Rule {
	r.ExemptNamespaces = &metav1.LabelSelector{MatchLabels: labels}
	return r
}

func TestEvaluateResultForms(t *testing.T) {
	e := engineFrom(t, map[string]string{"forms.rego": `package tollgate.forms
deny contains "plain string"
deny contains {"msg": "with code", "code": "too-big", "path": "spec.containers[0]"}
warn contains {"msg": "a warning"}
warn contains {"msg": "a coded warning", "code": "soon"}
`})
	got, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	want := verdict.Verdict{
		Reasons: []verdict.Reason{
			{Code: "policy.forms", Message: "[forms] plain string"},
			{Code: "policy.forms.too-big", Path: "spec.containers[0]", Message: "[forms] with code"},
		},
		Warnings: []verdict.Warning{
			{Code: "policy.forms.soon", Message: "[forms] a coded warning"},
			{Code: "policy.forms", Message: "[forms] a warning"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Evaluate (-want +got):\n%s", diff)
	}
}

func TestEvaluateMalformedResult(t *testing.T) {
	tests := map[string]string{
		"number":       `deny contains 3`,
		"no msg":       `deny contains {"path": "x"}`,
		"bad code":     `deny contains {"msg": "m", "code": "Bad Code"}`,
		"path number":  `deny contains {"msg": "m", "path": 1}`,
		"not a set":    `deny := "oops"`,
		"builtin fail": `deny contains x if { x := sprintf("%d", [to_number("nope")]) }`,
	}
	for name, rule := range tests {
		t.Run(name, func(t *testing.T) {
			e := engineFrom(t, map[string]string{"bad.rego": "package tollgate.bad\n" + rule + "\n"})
			got, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Reasons) != 1 || got.Reasons[0].Code != CodeError || !strings.HasPrefix(got.Reasons[0].Message, "[bad] policy could not be evaluated (failureMode closed): ") {
				t.Errorf("Evaluate = %+v, want one policy.error reason", got)
			}
		})
	}
}

func TestEvaluateCancelledContextFailsClosed(t *testing.T) {
	e := shipped(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := e.Evaluate(ctx, create(pod(container("app", "nginx:1"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Allowed() {
		t.Errorf("Evaluate with a cancelled context = %+v, want denied (failureMode closed)", got)
	}
}

func TestEvaluateNoObject(t *testing.T) {
	if _, err := shipped(t).Evaluate(t.Context(), Input{Request: Request{Operation: "CREATE"}}, Settings{}); err == nil {
		t.Error("Evaluate without an object: want error")
	}
}

func TestObserver(t *testing.T) {
	e := shipped(t)
	var mu sync.Mutex
	got := map[string]Observation{}
	e.Observer = func(o Observation) {
		mu.Lock()
		defer mu.Unlock()
		got[o.Policy] = o
	}
	s := Settings{Rules: map[string]Rule{
		"allowed-registries": withAction(registries("ghcr.io/acme/*"), "dryrun"),
		"require-digest":     {Action: "warn"},
		"pull-policy-always": {ExemptNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "team-a"}}, Action: "deny"},
	}}
	v, err := e.Evaluate(t.Context(), create(pod(container("app", "evil.io/x:1"))), s)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Allowed() || len(v.Warnings) != 1 {
		t.Errorf("verdict = %+v, want allowed with one require-digest warning", v)
	}
	outcomes := map[string]string{}
	for name, o := range got {
		outcomes[name] = o.Outcome
		if o.Outcome != OutcomeExempt && o.Duration <= 0 {
			t.Errorf("%s: duration %v, want > 0", name, o.Duration)
		}
	}
	want := map[string]string{"allowed-registries": OutcomeDryRun, "disallowed-tags": OutcomeAllow, "require-digest": OutcomeWarn, "pull-policy-always": OutcomeExempt}
	// require-attestation and require-signature need parameters: without them they are not evaluated.
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	wantMsg := []string{`[allowed-registries] container "app" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`}
	if diff := cmp.Diff(wantMsg, got["allowed-registries"].Messages); diff != "" {
		t.Errorf("dryrun messages (-want +got):\n%s", diff)
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	e := shipped(t)
	s := Settings{Rules: map[string]Rule{"allowed-registries": registries("ghcr.io/acme/*")}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				img := "ghcr.io/acme/app:1"
				if (i+j)%2 == 0 {
					img = "evil.io/x:1"
				}
				v, err := e.Evaluate(t.Context(), create(pod(container("app", img))), s)
				if err != nil {
					t.Error(err)
					return
				}
				if v.Allowed() != (img != "evil.io/x:1") {
					t.Errorf("image %s: allowed=%v", img, v.Allowed())
				}
			}
		}()
	}
	wg.Wait()
}

func TestEvaluateTimeBudget(t *testing.T) {
	// A policy that loops for long must be stopped by the request deadline.
	e := engineFrom(t, map[string]string{"slow.rego": `package tollgate.slow
deny contains "slow" if {
	n := numbers.range(1, 100000000)
	count([x | some x in n; x % 7 == 0]) > 0
}
`})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	v, err := e.Evaluate(ctx, create(pod(container("app", "nginx:1"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Evaluate took %v after a 50ms deadline", took)
	}
	if v.Allowed() || v.Reasons[0].Code != CodeError {
		t.Errorf("verdict = %+v, want policy.error", v)
	}
}
