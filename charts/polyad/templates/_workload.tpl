{{/* HorizontalPodAutoscaler of one Deployment: (dict "root" $ "component" name "autoscaling" values). */}}
{{- define "polyad.hpa" -}}
{{- $name := include "polyad.componentName" (dict "root" .root "component" .component) -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  namespace: {{ .root.Release.Namespace | quote }}
  labels:
    {{- include "polyad.labels" (dict "root" .root "component" .component) | nindent 4 }}
  {{- with (include "polyad.annotations" (dict "root" .root)) }}{{ . | trim | nindent 2 }}{{ end }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
  minReplicas: {{ .autoscaling.minReplicas }}
  maxReplicas: {{ .autoscaling.maxReplicas }}
  metrics:
    {{- if .autoscaling.targetCPU }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetCPU }}
    {{- end }}
    {{- if .autoscaling.targetMemory }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetMemory }}
    {{- end }}
{{- end -}}

{{/* PodDisruptionBudget of one Deployment: (dict "root" $ "component" name "pdb" values). */}}
{{- define "polyad.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "polyad.componentName" (dict "root" .root "component" .component) }}
  namespace: {{ .root.Release.Namespace | quote }}
  labels:
    {{- include "polyad.labels" (dict "root" .root "component" .component) | nindent 4 }}
  {{- with (include "polyad.annotations" (dict "root" .root)) }}{{ . | trim | nindent 2 }}{{ end }}
spec:
  {{- if not (kindIs "string" .pdb.minAvailable) }}
  minAvailable: {{ .pdb.minAvailable }}
  {{- else if .pdb.minAvailable }}
  minAvailable: {{ .pdb.minAvailable | quote }}
  {{- else if not (kindIs "string" .pdb.maxUnavailable) }}
  maxUnavailable: {{ .pdb.maxUnavailable }}
  {{- else if .pdb.maxUnavailable }}
  maxUnavailable: {{ .pdb.maxUnavailable | quote }}
  {{- else }}
  maxUnavailable: 1
  {{- end }}
  selector:
    matchLabels:
      {{- include "polyad.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- end -}}

{{/* NetworkPolicy egress rules when external egress is restricted: DNS and this release's pods (+ extras). */}}
{{- define "polyad.restrictedEgress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
- to:
    - podSelector:
        matchLabels:
          {{- include "polyad.selectorLabels" (dict "root" .) | nindent 10 }}
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}
