package tollgate.lib.pod_test

import data.tollgate.lib.pod

create(spec) := {"request": {"operation": "CREATE"}, "object": {"spec": spec}, "parameters": {}}

test_create_checks_every_kind if {
	entries := pod.containers with input as create({
		"initContainers": [{"name": "init", "image": "busybox:1"}],
		"containers": [{"name": "app", "image": "nginx:1"}],
		"ephemeralContainers": [{"name": "dbg", "image": "busybox:2"}],
	})
	{e.path | some e in entries} == {"spec.initContainers[0]", "spec.containers[0]", "spec.ephemeralContainers[0]"}
}

test_update_checks_only_new_or_changed_images if {
	entries := pod.containers with input as {
		"request": {"operation": "UPDATE", "subResource": "ephemeralcontainers"},
		"object": {"spec": {
			"containers": [{"name": "app", "image": "nginx"}],
			"ephemeralContainers": [{"name": "old", "image": "busybox"}, {"name": "new", "image": "busybox"}],
		}},
		"oldObject": {"spec": {
			"containers": [{"name": "app", "image": "nginx"}],
			"ephemeralContainers": [{"name": "old", "image": "busybox"}],
		}},
	}
	{e.path | some e in entries} == {"spec.ephemeralContainers[1]"}
}

test_update_image_change_is_checked if {
	entries := pod.containers with input as {
		"request": {"operation": "UPDATE"},
		"object": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}},
		"oldObject": {"spec": {"containers": [{"name": "app", "image": "nginx:1"}]}},
	}
	{e.image | some e in entries} == {"nginx:2"}
}

test_describe if {
	pod.describe({"kind": "initContainers", "name": "setup"}) == `init container "setup"`
	pod.describe({"kind": "ephemeralContainers", "name": "dbg"}) == `ephemeral container "dbg"`
}

test_invalid_reported if {
	results := pod.invalid with input as create({"containers": [{"name": "app", "image": "NGINX"}, {"name": "ok", "image": "nginx"}]})
	count(results) == 1
	some r in results
	r.path == "spec.containers[0].image"
	contains(r.msg, `container "app" image "NGINX" is not a valid image reference`)
}
