{{/* Chart name, overridable. */}}
{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name used as the prefix of every resource. The release name alone when it already
contains the chart name (release "tollgate" gives "tollgate", not "tollgate-tollgate").
*/}}
{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tollgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Pod selector labels: stable across upgrades, never add to them. */}}
{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tollgate.labels" -}}
helm.sh/chart: {{ include "tollgate.chart" . }}
{{ include "tollgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tollgate
{{- end -}}

{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tollgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tollgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* cert-manager object names (tls.mode=certManager). */}}
{{- define "tollgate.selfSignedIssuerName" -}}{{ include "tollgate.fullname" . }}-selfsigned{{- end -}}
{{- define "tollgate.caName" -}}{{ include "tollgate.fullname" . }}-ca{{- end -}}
{{- define "tollgate.servingCertName" -}}{{ include "tollgate.fullname" . }}-serving-cert{{- end -}}

{{/* Secret mounted as --cert-dir: the chart's cert-manager Secret, or the provided one. */}}
{{- define "tollgate.tlsSecretName" -}}
{{- if eq .Values.tls.mode "provided" -}}
{{- .Values.tls.secretName -}}
{{- else -}}
{{- include "tollgate.servingCertName" . }}-tls
{{- end -}}
{{- end -}}

{{/* ConfigMap with the client CA bundle (ca.crt), mounted at /etc/tollgate/client-ca. */}}
{{- define "tollgate.clientCAConfigMapName" -}}
{{- default (printf "%s-client-ca" (include "tollgate.fullname" .)) .Values.webhook.clientAuth.existingConfigMap -}}
{{- end -}}

{{/* ConfigMap mounted at /etc/tollgate/policies, empty when there are no custom policies. */}}
{{- define "tollgate.policiesConfigMapName" -}}
{{- if .Values.customPolicies.existingConfigMap -}}
{{- .Values.customPolicies.existingConfigMap -}}
{{- else if .Values.customPolicies.inline -}}
{{- include "tollgate.fullname" . }}-policies
{{- end -}}
{{- end -}}

{{/*
Checks the schema cannot express, and a second line of defence when a user renders with
--skip-schema-validation. Included by every template that depends on them.
*/}}
{{- define "tollgate.validate" -}}
{{- $mode := .Values.tls.mode -}}
{{- if not (has $mode (list "certManager" "provided" "url")) -}}
{{- fail (printf "tls.mode must be certManager, provided or url, not %q" $mode) -}}
{{- end -}}
{{- if has $mode (list "provided" "url") -}}
{{- $pem := b64dec (required (printf "tls.caBundle is required when tls.mode=%s" $mode) .Values.tls.caBundle) -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" $pem) -}}
{{- fail "tls.caBundle must be a base64-encoded PEM certificate bundle (base64 -w0 ca.crt)" -}}
{{- end -}}
{{- end -}}
{{- if eq $mode "provided" -}}
{{- $_ := required "tls.secretName is required when tls.mode=provided" .Values.tls.secretName -}}
{{- end -}}
{{- if eq $mode "url" -}}
{{- if not (hasPrefix "https://" (required "webhook.url is required when tls.mode=url" .Values.webhook.url)) -}}
{{- fail "webhook.url must start with https:// (the API server only calls webhooks over TLS)" -}}
{{- end -}}
{{- else if .Values.webhook.url -}}
{{- fail "webhook.url is only used with tls.mode=url; unset it or set tls.mode=url" -}}
{{- end -}}
{{- with .Values.webhook.clientAuth -}}
{{- if .enabled -}}
{{- if eq $mode "url" -}}
{{- fail "webhook.clientAuth is for the chart's Deployment; with tls.mode=url, start your tollgate with --client-ca-file" -}}
{{- end -}}
{{- if eq (empty .caBundle) (empty .existingConfigMap) -}}
{{- fail "webhook.clientAuth.enabled needs webhook.clientAuth.caBundle or webhook.clientAuth.existingConfigMap (one of them): the CA that signed the API server's webhook client certificate" -}}
{{- end -}}
{{- if and .caBundle (not (contains "-----BEGIN CERTIFICATE-----" (b64dec .caBundle))) -}}
{{- fail "webhook.clientAuth.caBundle must be a base64-encoded PEM certificate bundle (base64 -w0 client-ca.crt)" -}}
{{- end -}}
{{- else if or .caBundle .existingConfigMap -}}
{{- fail "webhook.clientAuth.caBundle and existingConfigMap are only used with webhook.clientAuth.enabled=true" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.customPolicies.inline .Values.customPolicies.existingConfigMap -}}
{{- fail "set customPolicies.inline or customPolicies.existingConfigMap, not both" -}}
{{- end -}}
{{- range $file, $_ := .Values.customPolicies.inline -}}
{{- if not (hasSuffix ".rego" $file) -}}
{{- fail (printf "customPolicies.inline key %q must end in .rego" $file) -}}
{{- end -}}
{{- end -}}
{{- with .Values.tracing.endpoint -}}
{{- $port := include "tollgate.tracingPort" $ | int -}}
{{- if or (lt $port 1) (gt $port 65535) -}}
{{- fail (printf "tracing.endpoint %q must be host:port, http://host:port or https://host:port with a port from 1 to 65535 (OTLP/gRPC is usually 4317)" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
TCP port of tracing.endpoint (host:port, http://host:port or https://host:port, as
`tollgate serve --tracing-endpoint` accepts), or 0 when it has none. The NetworkPolicy opens it.
*/}}
{{- define "tollgate.tracingPort" -}}
{{- $endpoint := .Values.tracing.endpoint -}}
{{- if regexMatch `^(https?://(\[[0-9A-Fa-f:.]+\]|[^\[\]/@?#\s:]+):[0-9]{1,5}/?|(\[[0-9A-Fa-f:.]+\]|[^\[\]/@?#\s:]+):[0-9]{1,5})$` $endpoint -}}
{{- regexReplaceAll `^.*:([0-9]+)/?$` $endpoint "${1}" -}}
{{- else -}}
0
{{- end -}}
{{- end -}}

{{/* Annotations of the webhook configurations: CA injection in certManager mode. */}}
{{- define "tollgate.webhookAnnotations" -}}
{{- if eq .Values.tls.mode "certManager" -}}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "tollgate.servingCertName" . }}
{{- end -}}
{{- end -}}

{{/* clientConfig for one webhook path; the argument is (dict "root" $ "path" "/mutate-v1-pod"). */}}
{{- define "tollgate.clientConfig" -}}
{{- $v := .root.Values -}}
clientConfig:
{{- if eq $v.tls.mode "url" }}
  url: {{ printf "%s%s" (trimSuffix "/" $v.webhook.url) .path | quote }}
{{- else }}
  service:
    name: {{ include "tollgate.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path | quote }}
    port: {{ $v.service.port }}
{{- end }}
{{- if ne $v.tls.mode "certManager" }}
  caBundle: {{ $v.tls.caBundle | nospace | quote }}
{{- end }}
{{- end -}}

{{/*
Namespaces never sent to tollgate, as a JSON list: webhook.excludeNamespaces plus the release
namespace, except in url mode where nothing of the release runs in the cluster.
*/}}
{{- define "tollgate.excludedNamespaces" -}}
{{- $excluded := .Values.webhook.excludeNamespaces -}}
{{- if ne .Values.tls.mode "url" }}{{ $excluded = append $excluded .Release.Namespace }}{{ end -}}
{{- uniq $excluded | toJson -}}
{{- end -}}

{{/* Fields shared by every webhook entry. */}}
{{- define "tollgate.webhookCommon" -}}
{{- $v := .Values -}}
admissionReviewVersions: ["v1"]
sideEffects: None
matchPolicy: Equivalent
timeoutSeconds: {{ $v.webhook.timeoutSeconds }}
{{- $excluded := include "tollgate.excludedNamespaces" . | fromJsonArray }}
namespaceSelector:
  matchExpressions:
    {{- if $excluded }}
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml $excluded | nindent 8 }}
    {{- end }}
    {{- /* Only the exact value "true" opts out: a typo or "false" keeps enforcement. */}}
    - key: {{ $v.webhook.ignoreLabel }}
      operator: NotIn
      values: ["true"]
    {{- with $v.webhook.namespaceSelectorExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- with $v.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.webhook.matchConditions }}
matchConditions:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
