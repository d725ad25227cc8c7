# disallowed-tags: images must not use a mutable tag such as latest.
package tollgate.disallowed_tags

import data.tollgate.lib.pod

metadata := {
	"description": concat(" ", [
		"Images must not use a disallowed tag (default: latest).",
		"An image with neither tag nor digest uses latest.",
		"A disallowed tag is rejected even next to a digest (nginx:latest@sha256:...), because the tag misleads readers;",
		"a digest alone is fine.",
	]),
	"defaultAction": "deny",
	"parameters": {
		"type": "object",
		"additionalProperties": false,
		"properties": {"tags": {"type": "array", "items": {"type": "string", "minLength": 1}}},
	},
}

tags := object.get(input.parameters, "tags", ["latest"])

deny contains result if {
	some c in pod.images
	ref := tollgate.image.parse(c.image)
	ref.valid
	ref.tag in tags
	result := {
		"msg": sprintf("%s image %q uses tag %q%s, which is not allowed (disallowed tags: %s); %s", [
			pod.describe(c), c.image, ref.tag, implicit(ref), concat(", ", tags), hint(ref),
		]),
		"path": c.path,
	}
}

deny contains result if {
	some result in pod.invalid
}

implicit(ref) := " (implicit: no tag given)" if {
	ref.tagImplicit
} else := ""

hint(ref) := "remove the tag: the digest already pins the image" if {
	ref.digest != ""
} else := "pin a version or a digest"
