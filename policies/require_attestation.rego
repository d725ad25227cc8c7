# require-attestation: images from the configured registries must carry an
# in-toto attestation of the rule's predicate type (for example SLSA
# provenance), verified against one of the rule's trusts.
package tollgate.require_attestation

import data.tollgate.lib.pod
import data.tollgate.lib.provenance

metadata := {
	"description": concat(" ", [
		"Images matching a rule's registries must carry a verified attestation of the rule's predicateType",
		"by one of the rule's trusts. With no rules every image is allowed.",
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
				"required": ["registries", "trust", "predicateType"],
				"properties": {
					"registries": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
					"trust": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
					"predicateType": {"type": "string", "minLength": 1},
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
	count(attested(img, rule)) == 0
	msg := sprintf("%s image %q (%s) has no %s attestation verified by any of %s", [
		pod.describe(im), im.image, img.digest, rule.predicateType, concat(", ", rule.trust),
	])
}

# attested holds the verified predicates of the rule's type by its trusts.
attested(img, rule) := {a.predicate |
	some a in img.attestations
	a.predicateType == rule.predicateType
	some name in rule.trust
	name in a.verifiedBy
}

parameter_errors contains msg if {
	some msg in provenance.rule_errors(rules)
}
