# require-digest: every image must be pinned to a sha256 digest.
package tollgate.require_digest

import data.tollgate.lib.pod

metadata := {
	"description": concat(" ", [
		"Images must be pinned to a digest: @sha256: followed by exactly 64 lowercase hex digits.",
		"A tag may accompany the digest. Off by default.",
	]),
	"defaultAction": "off",
	"parameters": {"type": "object", "additionalProperties": false},
}

deny contains result if {
	some c in pod.images
	ref := tollgate.image.parse(c.image)
	ref.valid
	not ref.pinned
	result := {
		"msg": sprintf("%s image %q is not pinned to a sha256 digest (want <image>@sha256:<64 lowercase hex digits>)", [pod.describe(c), c.image]),
		"path": c.path,
	}
}

deny contains result if {
	some result in pod.invalid
}
