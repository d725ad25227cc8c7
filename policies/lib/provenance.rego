# Helpers for the signature and attestation policies. Tollgate verifies
# before Rego runs and puts the results in input.images, keyed by the
# image reference as the Pod writes it (see README.md, "Image provenance").
package tollgate.lib.provenance

import data.tollgate.lib.pod

# matching holds the rules whose registries match the image.
matching(rules, image) := {rule |
	some rule in rules
	some pattern in rule.registries
	tollgate.image.matches(image, pattern)
}

# checked is the verification result of an image that was checked without
# registry trouble; undefined otherwise.
checked(image) := img if {
	img := input.images[image]
	object.get(img, "error", "") == ""
}

# finding is one problem with an image entry of pod.images: its result,
# and whether onError decides it (transient): registry trouble a retry may
# clear (timeout, 429, 5xx), or no result because no trust selects the
# image. A failure the Pod can cause at will (credentials refused, not
# found, an untrusted certificate) is definitive and always denies; both
# carry the reason code ".unverified".
finding(im, msg) := {"transient": false, "result": {"msg": msg, "path": im.path}} if checked(im.image)

finding(im, msg) := {"transient": transient(im.image), "result": {"msg": msg, "path": im.path, "code": "unverified"}} if {
	not checked(im.image)
}

transient(image) := object.get(input.images, [image, "transient"], false) if input.images[image]

transient(image) if not input.images[image]

# denied and warned split findings by on_error, the policy's direction for
# images that could not be checked (registry down, throttled, too slow):
# "deny" or "warn". A verified absence always denies; registry trouble
# denies or warns as configured, and is never reported as "unsigned".
# on_error is an argument, not read here from input.parameters, so helper
# rules stay the same for every policy of a request (and are shared).
denied(findings, on_error) := {f.result |
	some f in findings
	enforced(f, on_error)
}

warned(findings, on_error) := {r |
	some f in findings
	not enforced(f, on_error)
	r := object.union(f.result, {"msg": sprintf("%s; admitted unverified (onError: warn)", [f.result.msg])})
}

enforced(f, _) if not f.transient

enforced(f, "deny") if f.transient

# on_error_schema is the parameter schema of onError, shared by the policies.
on_error_schema := {"type": "string", "enum": ["deny", "warn"]}

# unverifiable explains why an image has no usable verification result.
unverifiable(c) := sprintf("%s image %q could not be verified: %s", [pod.describe(c), c.image, input.images[c.image].error]) if {
	input.images[c.image].error != ""
}

unverifiable(c) := sprintf("%s image %q was not verified: no verification.trust entry in the config selects it", [pod.describe(c), c.image]) if {
	not input.images[c.image]
}

# found_signatures summarises what was found, for denial messages.
found_signatures(img) := "no signature found" if count(img.signatures) == 0

found_signatures(img) := concat(", ", array.concat([sprintf("%d signature(s) found", [count(img.signatures)])], details)) if {
	count(img.signatures) > 0
	others := {n | some s in img.signatures; some n in s.verifiedBy}
	rejected := {r | some s in img.signatures; r := object.get(s, "rejected", ""); r != ""}
	details := [d |
		some part in [
			["verified only by other trusts", others],
			["rejected", rejected],
		]
		count(part[1]) > 0
		d := sprintf("%s (%s)", [part[0], concat("; ", part[1])])
	]
}

# rule_errors checks the registry patterns of rules.
rule_errors(rules) := {msg |
	some i, rule in rules
	some j, pattern in rule.registries
	err := tollgate.image.pattern_error(pattern)
	err != ""
	msg := sprintf("rules[%d].registries[%d]: %s", [i, j, err])
}
