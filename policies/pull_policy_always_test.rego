package tollgate.pull_policy_always_test

import data.tollgate.pull_policy_always

hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

pod(image, policy) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [{"name": "app", "image": image, "imagePullPolicy": policy}]}},
	"parameters": {},
}

test_mutable_with_always_allowed if {
	count(pull_policy_always.deny) == 0 with input as pod("nginx:1.25", "Always")
}

test_pinned_with_if_not_present_allowed if {
	count(pull_policy_always.deny) == 0 with input as pod(sprintf("nginx@sha256:%s", [hex]), "IfNotPresent")
}

test_mutable_with_if_not_present_denied if {
	results := pull_policy_always.deny with input as pod("nginx:1.25", "IfNotPresent")
	results == {{
		"msg": `container "app" image "nginx:1.25" is not pinned to a digest, so imagePullPolicy must be Always (got "IfNotPresent")`,
		"path": "spec.containers[0].imagePullPolicy",
	}}
}

test_malformed_digest_is_mutable if {
	count(pull_policy_always.deny) == 1 with input as pod(sprintf("nginx@sha256:%s", [substring(hex, 0, 63)]), "Never")
}

volume_pod(source) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [], "volumes": [{"name": "data", "image": source}]}},
	"parameters": {},
}

test_image_volume_if_not_present_denied if {
	results := pull_policy_always.deny with input as volume_pod({"reference": "ghcr.io/acme/data:1", "pullPolicy": "IfNotPresent"})
	results == {{
		"msg": `image volume "data" image "ghcr.io/acme/data:1" is not pinned to a digest, so pullPolicy must be Always (got "IfNotPresent")`,
		"path": "spec.volumes[0].image.pullPolicy",
	}}
}

test_image_volume_default_policy_is_effective if {
	# no pullPolicy: a versioned tag defaults to IfNotPresent, latest to Always
	count(pull_policy_always.deny) == 1 with input as volume_pod({"reference": "ghcr.io/acme/data:1"})
	count(pull_policy_always.deny) == 0 with input as volume_pod({"reference": "ghcr.io/acme/data"})
}

test_container_without_policy_uses_default if {
	results := pull_policy_always.deny with input as pod("nginx:1.25", "")
	some r in results
	contains(r.msg, `(got "IfNotPresent")`)
}
