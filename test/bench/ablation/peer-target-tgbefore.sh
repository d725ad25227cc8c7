# Extra peer-bench target "tgbefore": `tollgate serve` built from another checkout
# ($TGBEFORE_SRC), so two Tollgate trees run side by side in one run of
# ../shared/peer-bench/ (issue 13, docs/performance.md). To use it: copy
# ../shared/peer-bench to a scratch directory, put this file in its targets/
# and run TARGETS="echo opa tgbefore tollgate" from the project root.
tgbefore_enforces=1
tgbefore_needs_controlplane=1
TGBEFORE_SRC=${TGBEFORE_SRC:?set TGBEFORE_SRC to the other checkout}

tgbefore_build() {
	(cd "$TGBEFORE_SRC" && CGO_ENABLED=0 go build -trimpath -o "$BIN_DIR/tollgate-before" ./cmd/tollgate)
}

tgbefore_version() {
	echo "tollgate $(cd "$TGBEFORE_SRC" && git rev-parse --short HEAD) (built with $(go version "$BIN_DIR/tollgate-before" | awk '{print $2}'))"
}

tgbefore_setup() {
	local digest=off
	[[ $REQUIRE_DIGEST == 1 ]] && digest=deny
	cat >"$STATE_DIR/tgbefore-config.yaml" <<YAML
apiVersion: tollgate.dev/v1alpha1
kind: Config
quota: {mode: deny, warnThreshold: 90, ledgerTTL: 1ms}
policies:
  failureMode: closed
  settings:
    allowed-registries: {action: deny, parameters: {registries: ["docker.io/library", "ghcr.io/acme/*"]}}
    disallowed-tags: {action: deny, parameters: {tags: [latest]}}
    require-digest: {action: $digest}
YAML
	kc apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: v1
kind: Namespace
metadata: {name: payments}
---
apiVersion: v1
kind: Namespace
metadata: {name: sandbox}
---
apiVersion: v1
kind: Namespace
metadata: {name: tollgate-system}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: web}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: pods, namespace: web}
spec: {hard: {pods: "1000"}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: bounds, namespace: payments}
spec:
  limits:
  - type: Container
    max: {cpu: "4", memory: 8Gi}
    maxLimitRequestRatio: {cpu: "10"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: payments}
spec: {hard: {requests.cpu: "100", requests.memory: 100Gi, limits.cpu: "200", limits.memory: 200Gi, pods: "1000"}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: pods, namespace: sandbox}
spec: {hard: {pods: "1000"}}
YAML
}

tgbefore_start() { # $1 = port
	mkdir -p "$STATE_DIR/tgbefore-certs"
	cp "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$STATE_DIR/tgbefore-certs/"
	KUBECONFIG="$KUBECONFIG" $PIN_SERVER "$BIN_DIR/tollgate-before" serve \
		--bind-address 127.0.0.1 --port "$1" --cert-dir "$STATE_DIR/tgbefore-certs" \
		--health-probe-bind-address "127.0.0.1:$(($1 + 1))" --metrics-bind-address 0 \
		--namespace tollgate-system --config "$STATE_DIR/tgbefore-config.yaml" \
		--zap-log-level error >"$LOG_DIR/tgbefore.log" 2>&1 &
	TARGET_PID=$!
	TARGET_URL="https://127.0.0.1:$1/validate-v1-pod"
	for _ in $(seq 1 240); do
		curl -sf "http://127.0.0.1:$(($1 + 1))/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$TARGET_PID" 2>/dev/null || break
		sleep 0.5
	done
	echo "tollgate not ready after 120 s; see $LOG_DIR/tgbefore.log" >&2
	return 1
}
