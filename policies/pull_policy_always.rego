# pull-policy-always: images that are not pinned to a digest must be pulled
# on every start, so a node never runs a stale or planted copy of a tag.
package tollgate.pull_policy_always

import data.tollgate.lib.pod

metadata := {
	"description": concat(" ", [
		"Containers and image volumes whose image is not pinned to a sha256 digest must set imagePullPolicy (pullPolicy for volumes): Always.",
		"Digest-pinned images may use any pull policy. Off by default.",
	]),
	"defaultAction": "off",
	"parameters": {"type": "object", "additionalProperties": false},
}

deny contains result if {
	some c in pod.images
	not pinned(c.image)
	c.pullPolicy != "Always"
	result := {
		"msg": sprintf("%s image %q is not pinned to a digest, so %s must be Always (got %q)", [pod.describe(c), c.image, field[c.kind], c.pullPolicy]),
		"path": c.pullPolicyPath,
	}
}

field := {
	"containers": "imagePullPolicy",
	"initContainers": "imagePullPolicy",
	"ephemeralContainers": "imagePullPolicy",
	"volumes": "pullPolicy",
}

pinned(image) if tollgate.image.parse(image).pinned
