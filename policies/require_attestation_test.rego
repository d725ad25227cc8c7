package tollgate.require_attestation_test

import data.tollgate.require_attestation

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

slsa := "https://slsa.dev/provenance/v1"

params := {"rules": [{"registries": ["registry.test"], "trust": ["release"], "predicateType": slsa}]}

pod(image, atts) := {
	"request": {"operation": "CREATE"},
	"object": {"spec": {"containers": [{"name": "app", "image": image}]}},
	"parameters": params,
	"images": {image: {"digest": digest, "resolved": false, "signatures": [], "attestations": atts, "signedBy": []}},
}

msgs(atts) := m if {
	m := {r.msg | some r in require_attestation.deny} with input as pod("registry.test/app:1", atts)
}

test_verified_provenance_passes if {
	count(msgs([{"predicateType": slsa, "source": "referrers", "artifact": digest, "verifiedBy": ["release"], "predicate": {}}])) == 0
}

test_unverified_provenance_denied if {
	msgs([{"predicateType": slsa, "source": "referrers", "artifact": digest, "verifiedBy": [], "rejected": "release: bad signature"}]) == {sprintf(
		`container "app" image "registry.test/app:1" (%s) has no https://slsa.dev/provenance/v1 attestation verified by any of release`,
		[digest],
	)}
}

test_other_predicate_does_not_count if {
	count(msgs([{"predicateType": "https://spdx.dev/Document", "source": "referrers", "artifact": digest, "verifiedBy": ["release"]}])) == 1
}

test_signature_is_not_an_attestation if {
	count(msgs([])) == 1
}
