package tollgate.require_digest_test

import data.tollgate.require_digest

hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

pod(images) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": img} | some i, img in images]}},
	"parameters": {},
}

denied(image) if {
	count(require_digest.deny) == 1 with input as pod([image])
}

test_digest_allowed if {
	count(require_digest.deny) == 0 with input as pod([
		sprintf("nginx@sha256:%s", [hex]),
		sprintf("ghcr.io/acme/app:1@sha256:%s", [hex]),
	])
}

test_tag_denied if {
	msgs := {r.msg | some r in require_digest.deny} with input as pod(["nginx:1.25"])
	msgs == {`container "c0" image "nginx:1.25" is not pinned to a sha256 digest (want <image>@sha256:<64 lowercase hex digits>)`}
}

test_no_tag_denied if denied("nginx")

test_short_digest_denied if denied(sprintf("nginx@sha256:%s", [substring(hex, 0, 63)]))

test_uppercase_digest_denied if denied(sprintf("nginx@sha256:%s", [upper(hex)]))

test_digest_with_suffix_denied if denied(sprintf("nginx@sha256:%s-evil", [hex]))

test_digest_in_tag_denied if denied(sprintf("nginx:sha256-%s", [hex]))

test_ephemeral_container_checked if {
	results := require_digest.deny with input as {
		"request": {"operation": "CREATE"},
		"object": {"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox:1"}]}},
		"parameters": {},
	}
	{r.path | some r in results} == {"spec.ephemeralContainers[0].image"}
}

test_image_volume_without_digest_denied if {
	results := require_digest.deny with input as {
		"request": {"operation": "CREATE"},
		"object": {"spec": {"containers": [], "volumes": [{"name": "v", "image": {"reference": "ghcr.io/acme/data:1"}}]}},
		"parameters": {},
	}
	{r.path | some r in results} == {"spec.volumes[0].image.reference"}
}
