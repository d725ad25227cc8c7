package tollgate.disallowed_tags_test

import data.tollgate.disallowed_tags

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

pod(images, params) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": img} | some i, img in images]}},
	"parameters": params,
}

msgs(images, params) := m if {
	m := {r.msg | some r in disallowed_tags.deny} with input as pod(images, params)
}

test_versioned_tag_allowed if {
	count(msgs(["nginx:1.25", "ghcr.io/acme/app:v2", "localhost:5000/a:1"], {})) == 0
}

test_digest_only_allowed if {
	count(msgs([sprintf("nginx@%s", [digest])], {})) == 0
}

test_latest_denied if {
	msgs(["nginx:latest"], {}) == {`container "c0" image "nginx:latest" uses tag "latest", which is not allowed (disallowed tags: latest); pin a version or a digest`}
}

test_no_tag_is_latest if {
	msgs(["nginx"], {}) == {`container "c0" image "nginx" uses tag "latest" (implicit: no tag given), which is not allowed (disallowed tags: latest); pin a version or a digest`}
}

test_registry_port_without_tag_is_latest if {
	count(msgs(["registry.local:5000/nginx"], {})) == 1
}

test_latest_with_digest_denied if {
	msgs([sprintf("nginx:latest@%s", [digest])], {}) == {sprintf(`container "c0" image "nginx:latest@%s" uses tag "latest", which is not allowed (disallowed tags: latest); remove the tag: the digest already pins the image`, [digest])}
}

test_custom_tags if {
	count(msgs(["nginx:dev", "nginx:latest"], {"tags": ["dev"]})) == 1
}

test_empty_tag_list_allows_all if {
	count(msgs(["nginx"], {"tags": []})) == 0
}

test_invalid_reference_denied if {
	some m in msgs(["NGINX:1"], {})
	contains(m, "is not a valid image reference")
}

test_init_container_checked if {
	results := disallowed_tags.deny with input as {
		"request": {"operation": "CREATE"},
		"object": {"spec": {"initContainers": [{"name": "init", "image": "busybox"}], "containers": [{"name": "app", "image": "nginx:1"}]}},
		"parameters": {},
	}
	{r.path | some r in results} == {"spec.initContainers[0].image"}
}

test_image_volume_latest_denied if {
	results := disallowed_tags.deny with input as {
		"request": {"operation": "CREATE"},
		"object": {"spec": {"containers": [], "volumes": [{"name": "v", "image": {"reference": "ghcr.io/acme/data"}}]}},
		"parameters": {},
	}
	some r in results
	r.path == "spec.volumes[0].image.reference"
	startswith(r.msg, `image volume "v" image "ghcr.io/acme/data" uses tag "latest" (implicit`)
}
