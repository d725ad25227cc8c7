package tollgate.require_signature_test

import data.tollgate.require_signature

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

params := {"rules": [{"registries": ["registry.test/acme"], "trust": ["release", "ci"]}]}

pod(image, images) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [{"name": "app", "image": image}]}},
	"parameters": params,
	"images": images,
}

result(image, img) := rs if {
	rs := {r | some r in require_signature.deny} with input as pod(image, {image: img})
}

checked(signed_by, sigs) := {"digest": digest, "resolved": false, "signatures": sigs, "attestations": [], "signedBy": signed_by}

test_signed_by_a_named_trust_passes if {
	count(result("registry.test/acme/app:1", checked(["ci"], []))) == 0
}

test_signed_by_another_trust_denied if {
	sigs := [{"format": "bundle", "source": "referrers", "artifact": digest, "verifiedBy": ["other"]}]
	result("registry.test/acme/app:1", checked(["other"], sigs)) == {{
		"msg": sprintf(`container "app" image "registry.test/acme/app:1" (%s) is not signed by any of release, ci: 1 signature(s) found, verified only by other trusts (other)`, [digest]),
		"path": "spec.containers[0].image",
	}}
}

test_unsigned_denied_with_reason if {
	sigs := [{"format": "simple-signing", "source": "tag", "artifact": digest, "verifiedBy": [], "rejected": "payload signs sha256:aa, not this image"}]
	some r in result("registry.test/acme/app:1", checked([], sigs))
	contains(r.msg, "1 signature(s) found, rejected (payload signs sha256:aa, not this image)")
	not r.code
}

test_no_signature_found if {
	some r in result("registry.test/acme/app:1", checked([], []))
	endswith(r.msg, "no signature found")
}

test_registry_error_is_not_unsigned if {
	img := object.union(checked([], []), {"error": "GET https://registry.test/v2/acme/app/manifests/x: registry answered 429"})
	some r in result("registry.test/acme/app:1", img)
	r.code == "unverified"
	contains(r.msg, "could not be verified: GET")
	contains(r.msg, "429")
}

test_not_verified_at_all_is_denied if {
	rs := require_signature.deny with input as pod("registry.test/acme/app:1", {})
	some r in rs
	r.code == "unverified"
	contains(r.msg, "no verification.trust entry")
}

test_other_registries_untouched if {
	rs := require_signature.deny with input as pod("docker.io/library/nginx:1", {})
	count(rs) == 0
}

test_no_rules_allows_everything if {
	rs := require_signature.deny with input as json.patch(pod("registry.test/acme/app:1", {}), [{"op": "replace", "path": "/parameters", "value": {}}])
	count(rs) == 0
}

test_bad_pattern_rejected if {
	errs := require_signature.parameter_errors with input as {"parameters": {"rules": [{"registries": ["acme-*"], "trust": ["x"]}]}}
	count(errs) == 1
}

test_registry_trouble_denies_as_unverified_by_default if {
	result("registry.test/acme/app:1", {"digest": "", "resolved": false, "signatures": [], "attestations": [], "signedBy": [], "error": "registry throttled (429)"}) == {{
		"msg": `container "app" image "registry.test/acme/app:1" could not be verified: registry throttled (429)`,
		"path": "spec.containers[0].image",
		"code": "unverified",
	}}
}

test_registry_trouble_warns_with_on_error_warn if {
	img := {"digest": "", "resolved": false, "signatures": [], "attestations": [], "signedBy": [], "error": "timeout", "transient": true}
	inp := object.union(pod("registry.test/acme/app:1", {"registry.test/acme/app:1": img}), {"parameters": object.union(params, {"onError": "warn"})})
	count(require_signature.deny) == 0 with input as inp
	ws := require_signature.warn with input as inp
	ws == {{
		"msg": `container "app" image "registry.test/acme/app:1" could not be verified: timeout; admitted unverified (onError: warn)`,
		"path": "spec.containers[0].image",
		"code": "unverified",
	}}
}

# A failure the Pod can cause (credentials refused: nodes may pull with
# their own) is definitive: onError warn does not let it through.
test_definitive_failure_denies_with_on_error_warn if {
	img := {"digest": "", "resolved": false, "signatures": [], "attestations": [], "signedBy": [], "error": "unauthorized"}
	inp := object.union(pod("registry.test/acme/app:1", {"registry.test/acme/app:1": img}), {"parameters": object.union(params, {"onError": "warn"})})
	count(require_signature.warn) == 0 with input as inp
	require_signature.deny == {{
		"msg": `container "app" image "registry.test/acme/app:1" could not be verified: unauthorized`,
		"path": "spec.containers[0].image",
		"code": "unverified",
	}} with input as inp
}

test_on_error_warn_still_denies_unsigned if {
	inp := object.union(pod("registry.test/acme/app:1", {"registry.test/acme/app:1": checked([], [])}), {"parameters": object.union(params, {"onError": "warn"})})
	count(require_signature.deny) == 1 with input as inp
}

test_image_volume_checked if {
	image := "registry.test/acme/data:1"
	inp := {
		"request": {"operation": "CREATE"},
		"object": {"spec": {"containers": [], "volumes": [{"name": "data", "image": {"reference": image}}]}},
		"parameters": params,
		"images": {image: checked([], [])},
	}
	some r in require_signature.deny with input as inp
	r.path == "spec.volumes[0].image.reference"
	startswith(r.msg, `image volume "data" image "registry.test/acme/data:1"`)
}
