{{/* The release's name for its objects: the release name when it contains the chart's, else both. */}}
{{- define "argus-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "argus-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ include "argus-operator.fullname" . }}
{{- end -}}

{{- define "argus-operator.labels" -}}
{{ include "argus-operator.selectorLabels" . }}
app.kubernetes.io/part-of: argus
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "argus-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "argus-operator.runnerNamespace" -}}
{{- .Values.runnerNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* jobServiceAccount is <namespace>/<name>. */}}
{{- define "argus-operator.jobServiceAccountParts" -}}
{{- $parts := splitList "/" .Values.jobServiceAccount -}}
{{- if or (ne (len $parts) 2) (not (first $parts)) (not (last $parts)) -}}
{{- fail (printf "jobServiceAccount %q: expected <namespace>/<name>" .Values.jobServiceAccount) -}}
{{- end -}}
{{- toJson $parts -}}
{{- end -}}

{{- define "argus-operator.jobServiceAccountNamespace" -}}
{{- first (include "argus-operator.jobServiceAccountParts" . | fromJsonArray) -}}
{{- end -}}

{{- define "argus-operator.jobServiceAccountName" -}}
{{- last (include "argus-operator.jobServiceAccountParts" . | fromJsonArray) -}}
{{- end -}}
