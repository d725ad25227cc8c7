# pull-policy-always: images that are not pinned to a digest must be pulled
# on every start, so a node never runs a stale or planted copy of a tag.
package tollgate.pull_policy_always

import data.tollgate.lib.pod

metadata := {
	"description": concat(" ", [
		"Containers whose image is not pinned to a sha256 digest must set imagePullPolicy: Always.",
		"Digest-pinned images may use any pull policy. Off by default.",
	]),
	"defaultAction": "off",
	"parameters": {"type": "object", "additionalProperties": false},
}

deny contains result if {
	some c in pod.containers
	not pinned(c.image)
	policy := object.get(c.container, "imagePullPolicy", "")
	policy != "Always"
	result := {
		"msg": sprintf("%s image %q is not pinned to a digest, so imagePullPolicy must be Always (got %q)", [pod.describe(c), c.image, policy]),
		"path": sprintf("%s.imagePullPolicy", [c.path]),
	}
}

pinned(image) if tollgate.image.parse(image).pinned
