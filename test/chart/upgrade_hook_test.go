package chart

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// The pre-upgrade hook checks the new config and inline policies with the new image, from its
// own copy of them (the release's ConfigMaps still hold the old files when it runs).
func TestUpgradeCheckHook(t *testing.T) {
	t.Parallel()
	m := templateWithHooks(t, "--set", "config.quota.mode=warn", "--set", "customPolicies.inline.team\\.rego=package team.extra",
		"--set", "image.tag=v9.9.9")
	job := get[batchv1.Job](t, m, "Job", "tollgate-upgrade-check")
	cm := get[corev1.ConfigMap](t, m, "ConfigMap", "tollgate-upgrade-check")
	for name, ann := range map[string]map[string]string{"Job": job.Annotations, "ConfigMap": cm.Annotations} {
		if ann["helm.sh/hook"] != "pre-upgrade" || ann["helm.sh/hook-delete-policy"] != "before-hook-creation,hook-succeeded" {
			t.Errorf("%s annotations %v: want a pre-upgrade hook deleted on success", name, ann)
		}
	}
	if cm.Annotations["helm.sh/hook-weight"] >= job.Annotations["helm.sh/hook-weight"] {
		t.Errorf("ConfigMap weight %s must sort before the Job's %s", cm.Annotations["helm.sh/hook-weight"], job.Annotations["helm.sh/hook-weight"])
	}
	if !strings.Contains(cm.Data["config.yaml"], "mode: warn") || cm.Data["team.rego"] != "package team.extra\n" {
		t.Errorf("hook ConfigMap does not carry the new files: %v", cm.Data)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	want := []string{"check-config", "/etc/tollgate/upgrade/config.yaml", "--policies=/etc/tollgate/upgrade-policies"}
	if !slices.Equal(c.Args, want) || c.Image != "ghcr.io/tollgate-dev/tollgate:v9.9.9" {
		t.Errorf("runs %s %v, want the new image with %v", c.Image, c.Args, want)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 || pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("a failed check must fail the Job at once (backoffLimit 0, restartPolicy Never)")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the check needs no API access; its token must not be mounted")
	}
	d := get[appsv1.Deployment](t, m, "Deployment", "tollgate")
	if selects(d.Spec.Selector.MatchLabels, job.Spec.Template.Labels) {
		t.Error("the Deployment's selector (and so the Service's) matches the check Pod")
	}
	views := map[string][]string{}
	for _, v := range pod.Volumes {
		for _, it := range v.ConfigMap.Items {
			views[v.Name] = append(views[v.Name], it.Key)
		}
	}
	if !slices.Equal(views["upgrade"], []string{"config.yaml"}) || !slices.Equal(views["upgrade-policies"], []string{"team.rego"}) {
		t.Errorf("volumes show %v: want the config alone and the .rego files alone", views)
	}

	_, stderr, err := helm(t, "template", "tollgate", chartDir, "--set", "upgradeCheck.enabled=false", "--show-only", "templates/upgrade-check-hook.yaml")
	if err == nil || !strings.Contains(stderr, "could not find template") {
		t.Errorf("upgradeCheck.enabled=false still renders the hook (err %v): %s", err, stderr)
	}
	if m := template(t); m.has("Job", "tollgate-upgrade-check") {
		t.Error("hook rendered with --no-hooks")
	}
}

// templateWithHooks renders the upgrade hook and the Deployment (the uninstall hooks would
// repeat the webhook configurations' names).
func templateWithHooks(t *testing.T, args ...string) *manifests {
	t.Helper()
	base := []string{"template", "tollgate", chartDir, "--namespace", "tollgate-system",
		"--show-only", "templates/upgrade-check-hook.yaml", "--show-only", "templates/deployment.yaml"}
	out, stderr, err := helm(t, append(base, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	m, err := parseManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
