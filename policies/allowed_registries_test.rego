package tollgate.allowed_registries_test

import data.tollgate.allowed_registries

pod(images, params) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": img} | some i, img in images]}},
	"parameters": params,
}

acme := {"registries": ["ghcr.io/acme/*", "docker.io/library"]}

msgs(images, params) := m if {
	m := {r.msg | some r in allowed_registries.deny} with input as pod(images, params)
}

test_no_registries_allows_everything if {
	count(msgs(["evil.io/x:1", "nginx"], {})) == 0
}

test_allowed_images_pass if {
	count(msgs(["ghcr.io/acme/app:1", "ghcr.io/acme/team/app:2", "nginx:1.25", "docker.io/library/redis:7"], acme)) == 0
}

test_other_registry_denied if {
	msgs(["evil.io/x:1"], {"registries": ["ghcr.io/acme/*"]}) == {`container "c0" image "evil.io/x:1" is not from an allowed registry (allowed: ghcr.io/acme/*)`}
}

test_lookalike_org_denied if {
	count(msgs(["ghcr.io/acme-evil/app:1"], acme)) == 1
}

test_lookalike_library_denied if {
	count(msgs(["docker.io/library-evil/x:1"], acme)) == 1
}

test_lookalike_host_denied if {
	count(msgs(["myregistry.io.attacker.com/x:1"], {"registries": ["myregistry.io"]})) == 1
}

test_registry_as_path_denied if {
	count(msgs(["evil.io/ghcr.io/acme/app:1"], acme)) == 1
}

test_invalid_reference_denied if {
	some m in msgs(["GHCR.io/Acme/App"], acme)
	contains(m, "is not a valid image reference")
}

test_init_and_ephemeral_containers_checked if {
	results := allowed_registries.deny with input as {
		"request": {"operation": "CREATE"},
		"object": {"spec": {
			"initContainers": [{"name": "init", "image": "evil.io/a:1"}],
			"containers": [{"name": "app", "image": "ghcr.io/acme/app:1"}],
			"ephemeralContainers": [{"name": "dbg", "image": "evil.io/b:1"}],
		}},
		"parameters": acme,
	}
	{r.path | some r in results} == {"spec.initContainers[0].image", "spec.ephemeralContainers[0].image"}
}

test_parameter_errors if {
	errs := allowed_registries.parameter_errors with input as {"parameters": {"registries": ["ghcr.io/acme/*", "ghcr.io/acme-*"]}}
	count(errs) == 1
	some e in errs
	startswith(e, "registries[1]: ")
}
