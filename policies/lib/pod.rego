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
	some old in input.oldObject.spec[kind]
}

# images holds one entry per image a policy must check, from every place a
# Pod names an image the node pulls: containers, init containers (sidecars
# included), ephemeral containers and image volumes:
#
#   {"kind": "volumes", "index": 2, "name": "data", "image": "ghcr.io/acme/data:1",
#    "path": "spec.volumes[2].image.reference", "pullPolicy": "IfNotPresent",
#    "pullPolicyPath": "spec.volumes[2].image.pullPolicy"}
#
# path is the field of the reference; pullPolicy is the one set, else the
# one the API server defaults to (Always for a latest tag, written or
# implied, else IfNotPresent). It is the same list as Go's pkg/podimages (a
# test keeps them equal), which exemptImages and the workload checks use.
# On UPDATE only new or changed images count, as for containers.
images contains entry if {
	some c in containers
	entry := {
		"kind": c.kind,
		"index": c.index,
		"name": c.name,
		"image": c.image,
		"path": sprintf("%s.image", [c.path]),
		"pullPolicy": pull_policy(c.image, object.get(c.container, "imagePullPolicy", "")),
		"pullPolicyPath": sprintf("%s.imagePullPolicy", [c.path]),
	}
}

images contains entry if {
	some i, v in object.get(input.object, ["spec", "volumes"], [])
	is_object(v.image)
	ref := object.get(v.image, "reference", "")
	volume_changed(v.name, ref)
	entry := {
		"kind": "volumes",
		"index": i,
		"name": v.name,
		"image": ref,
		"path": sprintf("spec.volumes[%d].image.reference", [i]),
		"pullPolicy": pull_policy(ref, object.get(v.image, "pullPolicy", "")),
		"pullPolicyPath": sprintf("spec.volumes[%d].image.pullPolicy", [i]),
	}
}

pull_policy(_, set) := set if set != ""

pull_policy(image, "") := "Always" if tollgate.image.parse(image).tag == "latest"

pull_policy(image, "") := "IfNotPresent" if tollgate.image.parse(image).tag != "latest"

volume_changed(_, _) if input.request.operation != "UPDATE"

volume_changed(name, ref) if {
	input.request.operation == "UPDATE"
	not volume_unchanged(name, ref)
}

volume_unchanged(name, ref) if {
	some old in input.oldObject.spec.volumes
	old.name == name
	object.get(old, ["image", "reference"], "") == ref
}

# describe names the owner of an entry of containers or images the way
# users know it: container "app", init container "setup", ephemeral
# container "debugger", image volume "data".
describe(entry) := sprintf("%s %q", [noun[entry.kind], entry.name])

noun := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
	"volumes": "image volume",
}

# invalid holds a result for every checked image that is not a valid
# reference; image policies include it so an unparsable image can never
# slip through.
invalid contains {"msg": msg, "path": im.path} if {
	some im in images
	ref := tollgate.image.parse(im.image)
	not ref.valid
	msg := sprintf("%s image %q is not a valid image reference: %s", [describe(im), im.image, ref.error])
}
