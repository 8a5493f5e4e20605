{{/* Name of the chart, or nameOverride. */}}
{{- define "cloudlink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, with the chart's name unless the release name holds it. */}}
{{- define "cloudlink.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cloudlink.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudlink.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cloudlink.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cloudlink.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cloudlink.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloudlink.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: forced by leaderElection.enabled, else when replicas > 1. */}}
{{- define "cloudlink.leaderElection" -}}
{{- if kindIs "bool" .Values.leaderElection.enabled }}
{{- if .Values.leaderElection.enabled }}true{{ end }}
{{- else if gt (int .Values.replicas) 1 }}true
{{- end }}
{{- end }}

{{- define "cloudlink.leaseName" -}}
{{- default (printf "%s-leader" (include "cloudlink.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "cloudlink.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* host:port for --metrics-addr, with brackets around an IPv6 address. */}}
{{- define "cloudlink.metricsAddr" -}}
{{- if contains ":" .Values.metrics.bindAddress }}
{{- printf "[%s]:%d" .Values.metrics.bindAddress (int .Values.metrics.port) }}
{{- else }}
{{- printf "%s:%d" .Values.metrics.bindAddress (int .Values.metrics.port) }}
{{- end }}
{{- end }}

{{/* What the operator does with the Kubernetes API in the namespaces it watches: nothing more. */}}
{{- define "cloudlink.rules" -}}
# Its own kinds: watch them, add and remove its finalizer (patch).
- apiGroups: ["cloudlink.dev"]
  resources: ["cloudpipes", "tenantconnectionrequests", "tenantconnectionapprovals", "tenantconnectionapprovalpolicies", "tenantconnections"]
  verbs: ["get", "list", "watch", "patch"]
# Their status: id, conditions, what the cloud reports.
- apiGroups: ["cloudlink.dev"]
  resources: ["cloudpipes/status", "tenantconnectionrequests/status", "tenantconnectionapprovals/status", "tenantconnectionapprovalpolicies/status", "tenantconnections/status"]
  verbs: ["patch"]
# Credentials: read clouds.yaml; put and remove the finalizer cloudlink.dev/credentials-in-use (patch).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "patch"]
# Events about its objects.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# spec.export: read the named ConfigMap, create it (owned by the object), update its data. Never
# list, watch or delete: Kubernetes deletes it with its owner.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch"]
{{- end }}

{{/*
Shards: the main Deployment ("") and one per name in .Values.shards. The helpers below take
(dict "root" $ "shard" NAME). The main Deployment keeps the names and labels it had before shards,
so that adding shards to a release changes no immutable selector; a shard's pods carry
app.kubernetes.io/instance: <release>-<shard>, so that no Deployment selects another's pods.
*/}}
{{- define "cloudlink.deployments" -}}
{{- toJson (prepend .Values.shards "") }}
{{- end }}

{{- define "cloudlink.shard.name" -}}
{{- if .shard }}
{{- printf "%s-%s" (include "cloudlink.fullname" .root) .shard | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "cloudlink.fullname" .root }}
{{- end }}
{{- end }}

{{- define "cloudlink.shard.selectorLabels" -}}
{{- if .shard }}
app.kubernetes.io/name: {{ include "cloudlink.name" .root }}
app.kubernetes.io/instance: {{ printf "%s-%s" .root.Release.Name .shard | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "cloudlink.selectorLabels" .root }}
{{- end }}
{{- end }}

{{/* A shard's objects: the release's labels, and which shard. */}}
{{- define "cloudlink.shard.labels" -}}
{{ include "cloudlink.labels" .root }}
{{- if .shard }}
cloudlink.dev/shard: {{ .shard }}
{{- end }}
{{- end }}

{{/* A shard's pods: its selector labels and the release's other labels. */}}
{{- define "cloudlink.shard.podLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cloudlink.shard.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- if .shard }}
cloudlink.dev/shard: {{ .shard }}
{{- end }}
{{- end }}

{{- define "cloudlink.shard.leaseName" -}}
{{- if .shard }}
{{- printf "%s-%s" (include "cloudlink.leaseName" .root) .shard }}
{{- else }}
{{- include "cloudlink.leaseName" .root }}
{{- end }}
{{- end }}

{{/* --watch-label-selector: none without shards; the shard's key, or (main) every unlabelled object. */}}
{{- define "cloudlink.shard.selector" -}}
{{- if .shard }}
{{- printf "sharding.cloudlink.dev/key=%s" .shard }}
{{- else if .root.Values.shards }}
{{- print "!sharding.cloudlink.dev/key" }}
{{- end }}
{{- end }}
