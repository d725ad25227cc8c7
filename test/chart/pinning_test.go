package chart

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
)

// secretRules returns the verbs a role grants on secrets and serviceaccounts.
func secretRules(rules []rbacv1.PolicyRule) map[string][]string {
	out := map[string][]string{}
	for _, r := range rules {
		for _, res := range r.Resources {
			if res == "secrets" || res == "serviceaccounts" {
				out[res] = r.Verbs
			}
		}
	}
	return out
}

// TestPinningRBAC: the chart grants reads of pull secrets only when the
// config pins tags, only get, and only in the listed namespaces when given.
func TestPinningRBAC(t *testing.T) {
	t.Parallel()
	pin := []string{"--set", "config.registries.access[0].pattern=registry.example.com",
		"--set", "config.pinning.rules[0].images[0]=registry.example.com", "--set", "config.pinning.onError=deny"}

	off := template(t)
	if got := secretRules(get[rbacv1.ClusterRole](t, off, "ClusterRole", "tollgate").Rules); len(got) != 0 {
		t.Errorf("without pinning the ClusterRole grants %v", got)
	}

	on := template(t, pin...)
	got := secretRules(get[rbacv1.ClusterRole](t, on, "ClusterRole", "tollgate").Rules)
	if !slices.Equal(got["secrets"], []string{"get"}) || !slices.Equal(got["serviceaccounts"], []string{"get"}) {
		t.Errorf("with pinning the ClusterRole grants %v, want get on secrets and serviceaccounts only", got)
	}
	checkConfig(t, on, func(c *config.Config) {
		if !c.PinningPolicy().Enabled() || c.Pinning.OnError != "deny" || len(c.Registries.Access) != 1 {
			t.Errorf("rendered config: pinning %+v, registries %+v", c.Pinning, c.Registries)
		}
	})

	scoped := template(t, append(pin, "--set", "rbac.pullSecrets.namespaces={team-a}")...)
	if got := secretRules(get[rbacv1.ClusterRole](t, scoped, "ClusterRole", "tollgate").Rules); len(got) != 0 {
		t.Errorf("with namespaces listed the ClusterRole still grants %v", got)
	}
	role := get[rbacv1.Role](t, scoped, "Role", "tollgate-pull-secrets")
	rb := get[rbacv1.RoleBinding](t, scoped, "RoleBinding", "tollgate-pull-secrets")
	if role.Namespace != "team-a" || !slices.Equal(secretRules(role.Rules)["secrets"], []string{"get"}) ||
		rb.Namespace != "team-a" || rb.RoleRef.Name != role.Name || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "tollgate" {
		t.Errorf("role %+v, binding %+v", role, rb)
	}

	denied := template(t, append(pin, "--set", "rbac.pullSecrets.enabled=false")...)
	if got := secretRules(get[rbacv1.ClusterRole](t, denied, "ClusterRole", "tollgate").Rules); len(got) != 0 {
		t.Errorf("rbac.pullSecrets.enabled=false still grants %v", got)
	}
}
