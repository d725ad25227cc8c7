package workload

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSplitManifests(t *testing.T) {
	in := `apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
# the scale target
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a}
spec:
  replicas: 3
  template:
    spec:
      containers: [{name: app, image: app:1}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: team-a}
`
	rest, targets, err := SplitManifests([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rest), "Deployment") || !strings.Contains(string(rest), "Namespace") || !strings.Contains(string(rest), "ResourceQuota") {
		t.Errorf("rest should hold the Namespace and the ResourceQuota only:\n%s", rest)
	}
	w, err := targets.Workload(t.Context(), metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "team-a", "web")
	if err != nil || w == nil {
		t.Fatalf("deployment team-a/web not found: %v", err)
	}
	if w.Replicas != 3 || w.Template == nil {
		t.Errorf("target %+v", w)
	}
	if w, _ := targets.Workload(t.Context(), metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "team-a", "web"); w != nil {
		t.Error("a statefulset of the same name was found")
	}
}

func TestSplitManifestsReportsBrokenWorkloads(t *testing.T) {
	_, _, err := SplitManifests([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: many}\n"))
	if err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Errorf("err %v, want one naming document 1", err)
	}
}
