# Tests of Tollgate's image builtins as policies see them.
package tollgate.lib.builtins_test

hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

test_parse_familiar_name if {
	tollgate.image.parse("nginx") == {
		"valid": true,
		"error": "",
		"original": "nginx",
		"registry": "docker.io",
		"repository": "library/nginx",
		"path": "docker.io/library/nginx",
		"tag": "latest",
		"tagImplicit": true,
		"digest": "",
		"pinned": false,
		"normalized": "docker.io/library/nginx:latest",
	}
}

test_parse_port_registry if {
	r := tollgate.image.parse("localhost:5000/a")
	r.registry == "localhost:5000"
	r.repository == "a"
}

test_parse_tag_and_digest if {
	r := tollgate.image.parse(sprintf("a:b@sha256:%s", [hex]))
	r.tag == "b"
	r.digest == sprintf("sha256:%s", [hex])
	r.pinned
	not r.tagImplicit
}

test_parse_invalid_is_a_value_not_an_error if {
	tollgate.image.parse("NGINX") == {
		"valid": false,
		"error": "repository name (library/NGINX) must be lowercase",
		"original": "NGINX",
		"registry": "",
		"repository": "",
		"path": "",
		"tag": "",
		"tagImplicit": false,
		"digest": "",
		"pinned": false,
		"normalized": "",
	}
}

test_matches_segments if {
	tollgate.image.matches("ghcr.io/acme/app:1", "ghcr.io/acme/*")
	not tollgate.image.matches("ghcr.io/acme-evil/app:1", "ghcr.io/acme/*")
	tollgate.image.matches("nginx", "docker.io/library")
	not tollgate.image.matches("docker.io/library-evil/x", "docker.io/library")
	not tollgate.image.matches("myregistry.io.attacker.com/x", "myregistry.io")
}

test_pattern_error if {
	tollgate.image.pattern_error("ghcr.io/acme/*") == ""
	tollgate.image.pattern_error("ghcr.io/acme-*") != ""
}

test_parse_field_typo_is_a_compile_error if {
	# ref.tagg would not compile; this only documents the declared type.
	r := tollgate.image.parse("nginx:1")
	is_string(r.tag)
}
