# Helpers shared by the shipped policies. Packages under tollgate.lib are
# never policies themselves.
package tollgate.lib.pod

# kinds are the container lists of a Pod, in the order they run.
kinds := ["initContainers", "containers", "ephemeralContainers"]

# containers holds one entry per container a policy must check:
#
#   {"kind": "containers", "index": 0, "name": "app", "image": "nginx",
#    "container": {...}, "path": "spec.containers[0]"}
#
# On CREATE that is every container of every kind. On UPDATE (including the
# pods/ephemeralcontainers subresource used by `kubectl debug`) it is only the
# containers that are new or whose image changed, compared by name within the
# same list of input.oldObject: images already admitted are not re-judged, so
# tightening a policy never blocks debugging or updating an old Pod.
containers contains entry if {
	some kind in kinds
	some i, c in object.get(input.object, ["spec", kind], [])
	changed(kind, c)
	entry := {
		"kind": kind,
		"index": i,
		"name": c.name,
		"image": object.get(c, "image", ""),
		"container": c,
		"path": sprintf("spec.%s[%d]", [kind, i]),
	}
}

changed(_, _) if input.request.operation != "UPDATE"

changed(kind, c) if {
	input.request.operation == "UPDATE"
	not unchanged(kind, c)
}

# unchanged is a lookup in old_images, a set built once per evaluation (a
# complete rule, so its value is cached and indexed): a scan of the old list
# per container would make an UPDATE quadratic in containers.
unchanged(kind, c) if old_images[[kind, c.name, object.get(c, "image", "")]]

old_images := {[kind, old.name, object.get(old, "image", "")] |
	some kind in kinds
	some old in object.get(input, ["oldObject", "spec", kind], [])
}

# describe names a container the way users know it: container "app",
# init container "setup", ephemeral container "debugger".
describe(entry) := sprintf("%s %q", [noun[entry.kind], entry.name])

noun := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}

# invalid holds a result for every checked container whose image is not a
# valid reference; image policies include it so an unparsable image can
# never slip through.
invalid contains {"msg": msg, "path": sprintf("%s.image", [c.path])} if {
	some c in containers
	ref := tollgate.image.parse(c.image)
	not ref.valid
	msg := sprintf("%s image %q is not a valid image reference: %s", [describe(c), c.image, ref.error])
}
