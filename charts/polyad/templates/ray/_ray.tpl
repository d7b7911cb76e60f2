{{/* Default detector of a service (its spec's default_detector, checked by tests/unit/deploy); a service's
settings.default_detector wins. */}}
{{- define "polyad.defaultDetector" -}}
{{- $defaults := dict "timeseries" "comet" "vision" "multi_ad" "logs" "contralog" "graph" "ego_diffusion" "tensorstream" "heterocomp" "medical" "multi_ad" "hyperspectral" "dms2f_had" "traffic" "pu_gat" -}}
{{- index $defaults . -}}
{{- end -}}

{{/* Pod spec fields shared by the Ray head and workers: (dict "root" $ "head" bool "nodeSelector" map "tolerations" list). */}}
{{- define "polyad.rayPodSpec" -}}
{{- if and .head .root.Values.ray.enableInTreeAutoscaling }}
# The autoscaler sidecar scales worker groups through the Kubernetes API: KubeRay gives the head its own
# ServiceAccount and Role for that, so none is set here.
{{- else }}
serviceAccountName: {{ include "polyad.serviceAccountName" .root }}
automountServiceAccountToken: {{ .root.Values.serviceAccount.automountServiceAccountToken }}
{{- end }}
{{- include "polyad.imagePullSecrets" .root }}
{{- include "polyad.podSecurityContext" .root }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  {{- include "polyad.tmpVolume" .root | nindent 2 }}
  {{- include "polyad.modelStoreVolume" .root | nindent 2 }}
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ .root.Values.ray.shmSizeLimit }}
{{- end -}}

{{/* Container fields shared by the Ray head and workers (KubeRay adds the `ray start` command): (dict "root" $ "resources" map). */}}
{{- define "polyad.rayContainer" -}}
image: {{ include "polyad.image" (dict "root" .root "image" .root.Values.ray.image) }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
{{- include "polyad.containerSecurityContext" .root }}
env:
  {{- include "polyad.commonEnv" .root | nindent 2 }}
  {{- with .root.Values.ray.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: model-store
    mountPath: {{ .root.Values.modelStore.mountPath }}
  - name: dshm
    mountPath: /dev/shm
{{- end -}}
