package tollgate.lib.provenance_test

import data.tollgate.lib.provenance

test_matching_picks_rules_by_registry if {
	rules := [{"registries": ["a.test"], "trust": ["x"]}, {"registries": ["b.test/team"], "trust": ["y"]}]
	provenance.matching(rules, "b.test/team/app:1") == {rules[1]}
	count(provenance.matching(rules, "c.test/app:1")) == 0
}

test_error_result_is_not_checked if {
	not provenance.checked("a.test/app:1") with input as {"images": {"a.test/app:1": {"error": "timeout"}}}
}

test_summary_lists_other_trusts_and_rejections if {
	img := {"signatures": [
		{"verifiedBy": ["other"]},
		{"verifiedBy": [], "rejected": "release: invalid signature"},
	]}
	provenance.found_signatures(img) == "2 signature(s) found, verified only by other trusts (other), rejected (release: invalid signature)"
}
