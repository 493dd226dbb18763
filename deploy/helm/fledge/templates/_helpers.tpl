{{/*
The base name of every object: fullnameOverride, else the release name when it contains "fledge", else
"<release>-fledge". Objects are "<base>-worker" and "<base>-config", so 56 characters at most.
*/}}
{{- define "fledge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" -}}
{{- else if contains "fledge" .Release.Name -}}
{{- .Release.Name | trunc 56 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-fledge" .Release.Name | trunc 56 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fledge.worker" -}}{{ include "fledge.fullname" . }}-worker{{- end -}}
{{- define "fledge.config" -}}{{ include "fledge.fullname" . }}-config{{- end -}}

{{/* Labels of every object: the kustomize base's, plus Helm's own. */}}
{{- define "fledge.labels" -}}
app.kubernetes.io/name: fledge
app.kubernetes.io/component: worker
app.kubernetes.io/part-of: fledge
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- end -}}

{{/* The Deployment's selector: fixed for the life of a release (a selector cannot change). */}}
{{- define "fledge.selectorLabels" -}}
app.kubernetes.io/name: fledge
app.kubernetes.io/component: worker
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/*
The least-privilege rules of docs/operations.md ("RBAC (least privilege)"): exactly the Kubernetes calls a release
makes. No delete verbs, no escalation, ConfigMaps for config tracking only, Secrets only with
configTracking.secrets: true (the kustomize base's commented-out opt-in rule); `create` because server-side apply
creates missing objects. Used by the per-namespace Roles and by the opt-in ClusterRole alike;
test/integration/helm.test.ts holds it equal to deploy/kustomize/base/release-namespaces.yaml.
*/}}
{{- define "fledge.rules" -}}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices", "destinationrules"]
  verbs: ["get", "create", "patch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "create", "patch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "create", "patch"]
# Config tracking: the target's ConfigMaps are read and copied to `<name>-primary` (docs/spec.md, "Config tracking").
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch"]
# Flagger's MetricTemplates/AlertProviders a Canary references by name and its file lacks (read once, pinned).
- apiGroups: ["flagger.app"]
  resources: ["metrictemplates", "alertproviders"]
  verbs: ["get"]
{{- if .Values.configTracking.secrets }}
# Opt-in (configTracking.secrets): Secrets tracked like ConfigMaps.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "patch"]
{{- end }}
{{- if .Values.clusterMode.enabled }}
# Opt-in (clusterMode.enabled): cluster mode's calls beyond a release's — the kustomize overlays/cluster-mode Role.
- apiGroups: ["flagger.app"]
  resources: ["canaries"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["flagger.app"]
  resources: ["canaries/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list", "watch"]
{{- if .Values.configTracking.secrets }}
# With configTracking.secrets: a tracked Secret's change starts a release too (the overlays' commented-out rule).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list", "watch"]
{{- end }}
{{- end }}
{{- end -}}

{{/*
FLEDGE_ALLOWED_NAMESPACES. Namespaced: exactly the namespaces that get a Role + RoleBinding (so the policy and RBAC
agree by construction). Cluster-wide: allowedNamespaces, default "*".
*/}}
{{- define "fledge.allowedNamespaces" -}}
{{- if .Values.clusterWide -}}
{{- default "*" .Values.allowedNamespaces -}}
{{- else -}}
{{- join "," (include "fledge.releaseNamespaces" . | fromJsonArray) -}}
{{- end -}}
{{- end -}}

{{/* The release namespaces, checked (namespaced installs only), as a JSON array. */}}
{{- define "fledge.releaseNamespaces" -}}
{{- $ns := .Values.releaseNamespaces | default list | uniq -}}
{{- if not .Values.clusterWide -}}
{{- if .Values.allowedNamespaces -}}
{{- fail "allowedNamespaces applies with clusterWide: true only; namespaced, FLEDGE_ALLOWED_NAMESPACES is releaseNamespaces" -}}
{{- end -}}
{{- if not $ns -}}
{{- fail "releaseNamespaces is empty: list the namespaces the worker may release to, or set clusterWide: true" -}}
{{- end -}}
{{- range $ns -}}
{{- if has . (list "kube-system" "kube-public" "kube-node-lease" $.Release.Namespace) -}}
{{- fail (printf "releaseNamespaces: %s is reserved (cluster components or the worker's own namespace); Fledge must not release there" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $ns -}}
{{- end -}}

{{- define "fledge.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}
