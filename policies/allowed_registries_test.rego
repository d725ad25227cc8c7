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

volume_pod(ref) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {
		"containers": [{"name": "app", "image": "nginx:1.25"}],
		"volumes": [{"name": "cfg", "configMap": {"name": "x"}}, {"name": "payload", "image": {"reference": ref}}],
	}},
	"parameters": {"registries": ["docker.io/library"]},
}

test_image_volume_from_other_registry_denied if {
	results := allowed_registries.deny with input as volume_pod("evil.example.com/payload:latest")
	results == {{
		"msg": `image volume "payload" image "evil.example.com/payload:latest" is not from an allowed registry (allowed: docker.io/library)`,
		"path": "spec.volumes[1].image.reference",
	}}
}

test_image_volume_from_allowed_registry_passes if {
	count(allowed_registries.deny) == 0 with input as volume_pod("busybox:1.36")
}

test_invalid_image_volume_denied if {
	results := allowed_registries.deny with input as volume_pod("Evil")
	some r in results
	r.path == "spec.volumes[1].image.reference"
	contains(r.msg, `image volume "payload" image "Evil" is not a valid image reference`)
}

test_tag_pattern_refuses_other_digest if {
	count(msgs(
		[sprintf("ghcr.io/acme/app:v1.2.3@sha256:%s", [concat("", ["f" | some _ in numbers.range(1, 64)])])],
		{"registries": ["ghcr.io/acme/app:v1.2.3"]},
	)) == 1
}
