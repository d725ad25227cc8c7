# allowed-registries: every image must come from a listed registry or
# repository.
package tollgate.allowed_registries

import data.tollgate.lib.pod

metadata := {
	"description": concat(" ", [
		"Images must come from an allowed registry or repository.",
		"Patterns match whole path segments of the normalised reference (nginx is docker.io/library/nginx);",
		"\"*\" matches exactly one segment. With no registries configured every image is allowed.",
	]),
	"defaultAction": "deny",
	"parameters": {
		"type": "object",
		"additionalProperties": false,
		"properties": {"registries": {"type": "array", "items": {"type": "string", "minLength": 1}}},
	},
}

registries := object.get(input.parameters, "registries", [])

deny contains result if {
	count(registries) > 0
	some c in pod.images
	ref := tollgate.image.parse(c.image)
	ref.valid
	not allowed(c.image)
	result := {
		"msg": sprintf("%s image %q is not from an allowed registry (allowed: %s)", [pod.describe(c), c.image, concat(", ", registries)]),
		"path": c.path,
	}
}

deny contains result if {
	count(registries) > 0
	some result in pod.invalid
}

allowed(image) if {
	some pattern in registries
	tollgate.image.matches(image, pattern)
}

# parameter_errors is checked when the config is loaded.
parameter_errors contains msg if {
	some i, pattern in registries
	err := tollgate.image.pattern_error(pattern)
	err != ""
	msg := sprintf("registries[%d]: %s", [i, err])
}
