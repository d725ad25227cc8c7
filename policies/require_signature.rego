# require-signature: images from the configured registries must carry a
# signature, verified by Tollgate before this policy runs, from one of the
# trusts (keys or keyless identities in the config's verification.trust)
# that the matching rule names.
package tollgate.require_signature

import data.tollgate.lib.pod
import data.tollgate.lib.provenance

metadata := {
	"description": concat(" ", [
		"Images matching a rule's registries must be signed (cosign classic or Sigstore bundle)",
		"by one of the rule's trusts. Attestations never count as signatures.",
		"With no rules every image is allowed.",
	]),
	"defaultAction": "deny",
	"needsParameters": true,
	"parameters": {
		"type": "object",
		"additionalProperties": false,
		"properties": {"onError": provenance.on_error_schema, "rules": {
			"type": "array",
			"items": {
				"type": "object",
				"additionalProperties": false,
				"required": ["registries", "trust"],
				"properties": {
					"registries": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
					"trust": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
				},
			},
		}},
	},
}

rules := object.get(input.parameters, "rules", [])

on_error := object.get(input.parameters, "onError", "deny")

findings contains f if {
	some im in pod.images
	some rule in provenance.matching(rules, im.image)
	f := provenance.finding(im, problem(im, rule))
}

deny contains r if some r in provenance.denied(findings, on_error)

warn contains r if some r in provenance.warned(findings, on_error)

problem(im, _) := provenance.unverifiable(im) if not provenance.checked(im.image)

problem(im, rule) := msg if {
	img := provenance.checked(im.image)
	not signed_by_rule(img, rule)
	msg := sprintf("%s image %q (%s) is not signed by any of %s: %s", [
		pod.describe(im), im.image, img.digest,
		concat(", ", rule.trust), provenance.found_signatures(img),
	])
}

signed_by_rule(img, rule) if {
	some name in rule.trust
	name in img.signedBy
}

parameter_errors contains msg if {
	some msg in provenance.rule_errors(rules)
}
