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

test_images_cover_every_place if {
	entries := pod.images with input as create({
		"volumes": [{"name": "cfg", "emptyDir": {}}, {"name": "data", "image": {"reference": "ghcr.io/acme/data:1", "pullPolicy": "Always"}}],
		"initContainers": [{"name": "init", "image": "busybox:1", "imagePullPolicy": "Never"}],
		"containers": [{"name": "app", "image": "nginx"}],
		"ephemeralContainers": [{"name": "dbg", "image": "busybox:2"}],
	})
	{[e.path, e.pullPolicy, e.pullPolicyPath] | some e in entries} == {
		["spec.volumes[1].image.reference", "Always", "spec.volumes[1].image.pullPolicy"],
		["spec.initContainers[0].image", "Never", "spec.initContainers[0].imagePullPolicy"],
		["spec.containers[0].image", "Always", "spec.containers[0].imagePullPolicy"],
		["spec.ephemeralContainers[0].image", "IfNotPresent", "spec.ephemeralContainers[0].imagePullPolicy"],
	}
}

test_update_checks_only_new_or_changed_image_volumes if {
	entries := pod.images with input as {
		"request": {"operation": "UPDATE"},
		"object": {"spec": {"volumes": [
			{"name": "same", "image": {"reference": "a.io/x:1"}},
			{"name": "changed", "image": {"reference": "a.io/y:2"}},
			{"name": "new", "image": {"reference": "a.io/z:1"}},
		]}},
		"oldObject": {"spec": {"volumes": [
			{"name": "same", "image": {"reference": "a.io/x:1"}},
			{"name": "changed", "image": {"reference": "a.io/y:1"}},
		]}},
	}
	{e.name | some e in entries} == {"changed", "new"}
}

test_describe_image_volume if {
	pod.describe({"kind": "volumes", "name": "data"}) == `image volume "data"`
}
