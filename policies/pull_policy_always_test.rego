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
