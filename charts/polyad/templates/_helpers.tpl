{{/*
Shared helpers of the Polyad chart.
*/}}

{{/*
The domain services: the registered service specs (services/<name>/spec.py, entry-point group polyad.services), in
port order; tests/unit/deploy checks this list against them. Each one also needs a block in values.yaml.
*/}}
{{- define "polyad.serviceNames" -}}
timeseries vision logs graph medical hyperspectral tensorstream traffic
{{- end -}}

{{/*
Effective values of one domain service, as JSON: serviceDefaults deep-merged with .Values.<name> (the service's
own values win; maps merge key by key, lists and scalars replace). (dict "root" $ "name" "vision"); read it with
`include "polyad.serviceValues" (dict "root" $ "name" $name) | fromJson`.
*/}}
{{- define "polyad.serviceValues" -}}
{{- $own := index .root.Values .name | default dict -}}
{{- mergeOverwrite (deepCopy (.root.Values.serviceDefaults | default dict)) (deepCopy $own) | toJson -}}
{{- end -}}

{{- define "polyad.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "polyad.fullname" -}}
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

{{/* Name of one component's objects: (dict "root" $ "component" "vision"). */}}
{{- define "polyad.componentName" -}}
{{- printf "%s-%s" (include "polyad.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "polyad.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object: (dict "root" $ "component" "gateway"). */}}
{{- define "polyad.labels" -}}
helm.sh/chart: {{ include "polyad.chart" .root }}
{{ include "polyad.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: polyad
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "polyad.selectorLabels" -}}
app.kubernetes.io/name: {{ include "polyad.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* metadata.annotations from commonAnnotations plus extra ones: (dict "root" $ "extra" map). */}}
{{- define "polyad.annotations" -}}
{{- $all := merge (deepCopy (default (dict) .extra)) (deepCopy (default (dict) .root.Values.commonAnnotations)) -}}
{{- if $all }}
annotations:
  {{- toYaml $all | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Image reference: (dict "root" $ "image" $svc.image). */}}
{{- define "polyad.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- $repository := .image.repository -}}
{{- if $registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository }}{{ end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (toString (.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion)) -}}
{{- end -}}
{{- end -}}

{{- define "polyad.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "polyad.podSecurityContext" -}}
{{- if .Values.podSecurityContext.enabled }}
securityContext:
  {{- omit .Values.podSecurityContext "enabled" | toYaml | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "polyad.containerSecurityContext" -}}
{{- if .Values.containerSecurityContext.enabled }}
securityContext:
  {{- omit .Values.containerSecurityContext "enabled" | toYaml | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Probe timings without the enabled switch. */}}
{{- define "polyad.probeTimings" -}}
{{- omit . "enabled" | toYaml }}
{{- end -}}

{{/* In-cluster DNS name of one component's Service: (dict "root" $ "component" "vision"). */}}
{{- define "polyad.serviceHost" -}}
{{- printf "%s.%s.svc.%s" (include "polyad.componentName" .) .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{/* The gateway's route table {modality: host:port}, as JSON: enabled services, then gateway.extraRoutes. */}}
{{- define "polyad.routes" -}}
{{- $root := . -}}
{{- $routes := dict -}}
{{- range $name := splitList " " (include "polyad.serviceNames" .) -}}
{{- $svc := include "polyad.serviceValues" (dict "root" $root "name" $name) | fromJson -}}
{{- if $svc.enabled -}}
{{- $_ := set $routes $name (printf "%s:%v" (include "polyad.serviceHost" (dict "root" $root "component" $name)) $svc.service.ports.grpc) -}}
{{- end -}}
{{- end -}}
{{- range $modality, $address := .Values.gateway.extraRoutes -}}
{{- $_ := set $routes $modality $address -}}
{{- end -}}
{{- toJson $routes -}}
{{- end -}}

{{/* The gateway settings file (gateway/config.py GatewaySettings), as JSON. */}}
{{- define "polyad.gatewaySettings" -}}
{{- $g := .Values.gateway -}}
{{- $settings := dict
      "grpc_address" (printf "0.0.0.0:%v" $g.containerPorts.grpc)
      "http_address" (printf "0.0.0.0:%v" $g.containerPorts.http)
      "routes" (include "polyad.routes" . | fromJson)
      "default_timeout_s" $g.defaultTimeoutSeconds
      "health_timeout_s" $g.healthTimeoutSeconds
      "max_message_bytes" $g.maxMessageBytes
      "max_upload_bytes" $g.maxUploadBytes -}}
{{- $discovery := dict "mode" "static" -}}
{{- if $g.discovery.enabled -}}
{{- $discovery = dict "mode" "kubernetes" "namespace" .Release.Namespace "label" "polyad.io/modality" "port_name" "grpc" -}}
{{- end -}}
{{- $_ := set $settings "discovery" $discovery -}}
{{- if $g.tls.enabled -}}
{{- $tls := dict "cert_file" (printf "%s/tls.crt" $g.tls.mountPath) "key_file" (printf "%s/tls.key" $g.tls.mountPath) -}}
{{- if $g.tls.clientCAKey -}}
{{- $_ := set $tls "client_ca_file" (printf "%s/%s" $g.tls.mountPath $g.tls.clientCAKey) -}}
{{- $_ := set $tls "require_client_cert" $g.tls.requireClientCert -}}
{{- end -}}
{{- $_ := set $settings "tls" $tls -}}
{{- end -}}
{{- if .Values.internalTLS.enabled -}}
{{- $dir := .Values.internalTLS.mountPath -}}
{{- $upstream := dict "ca_file" (printf "%s/ca.crt" $dir) -}}
{{- if .Values.internalTLS.mutual -}}
{{- $_ := set $upstream "cert_file" (printf "%s/tls.crt" $dir) -}}
{{- $_ := set $upstream "key_file" (printf "%s/tls.key" $dir) -}}
{{- end -}}
{{- $_ := set $settings "upstream_tls" $upstream -}}
{{- end -}}
{{- toPrettyJson (merge (deepCopy $g.settings) $settings) -}}
{{- end -}}

{{/* The TLS settings of a service's gRPC server (services/core/tls.py ServerTLSSettings), as JSON. */}}
{{- define "polyad.serviceTLS" -}}
{{- $dir := .Values.internalTLS.mountPath -}}
{{- $tls := dict "cert_file" (printf "%s/tls.crt" $dir) "key_file" (printf "%s/tls.key" $dir) -}}
{{- if .Values.internalTLS.mutual -}}
{{- $_ := set $tls "client_ca_file" (printf "%s/ca.crt" $dir) -}}
{{- $_ := set $tls "require_client_cert" true -}}
{{- end -}}
{{- toJson $tls -}}
{{- end -}}

{{/*
A grpc.health.v1 check over TLS, run in the service container (Kubernetes gRPC probes speak plaintext only):
(dict "root" $ "name" "vision" "port" 50062 "timeout" 5). It verifies the server with ca.crt under the service's
DNS name and presents the Secret's certificate (needed with internalTLS.mutual).
*/}}
{{- define "polyad.tlsHealthCheck" -}}
{{- $dir := .root.Values.internalTLS.mountPath -}}
{{- $host := include "polyad.serviceHost" (dict "root" .root "component" .name) -}}
import sys, grpc
from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g
r = lambda n: open({{ printf "%s/" $dir | quote }} + n, "rb").read()
c = grpc.ssl_channel_credentials(r("ca.crt"), r("tls.key"), r("tls.crt"))
o = [("grpc.ssl_target_name_override", {{ $host | quote }})]
with grpc.secure_channel({{ printf "127.0.0.1:%v" .port | quote }}, c, options=o) as ch:
    s = g.HealthStub(ch).Check(h.HealthCheckRequest(), timeout={{ .timeout }}).status
sys.exit(0 if s == h.HealthCheckResponse.SERVING else 1)
{{- end -}}

{{/* Name of the RayService: KubeRay accepts at most 48 characters (it names the head Service `<name>-head-svc`). */}}
{{- define "polyad.rayServiceName" -}}
{{- printf "%s-ray" (include "polyad.fullname" . | trunc 44 | trimSuffix "-") -}}
{{- end -}}

{{/* Ray client address of the RayService head. */}}
{{- define "polyad.rayAddress" -}}
{{- printf "ray://%s-head-svc.%s.svc.%s:%v" (include "polyad.rayServiceName" .) .Release.Namespace .Values.clusterDomain .Values.ray.clientPort -}}
{{- end -}}

{{/* A service's backend settings (services/core/backends/base.py BackendSettings), as JSON: (dict "root" $ "name" "vision"). */}}
{{- define "polyad.backendSettings" -}}
{{- $root := .root -}}
{{- $svc := include "polyad.serviceValues" . | fromJson -}}
{{- $backend := dict "kind" "inline" "inline_threads" $svc.inlineThreads "torch_threads" $svc.torchThreads -}}
{{- if $root.Values.ray.enabled -}}
{{- $r := $svc.ray -}}
{{- $backend = dict
      "kind" "ray"
      "inline_threads" $svc.inlineThreads
      "torch_threads" $svc.torchThreads
      "ray_address" (include "polyad.rayAddress" $root)
      "ray_namespace" "polyad"
      "ray_serve_app" .name
      "num_replicas" $r.numReplicas
      "num_cpus" $r.numCpus
      "num_gpus" $r.numGpus
      "max_batch_size" $r.maxBatchSize
      "batch_wait_timeout_s" $r.batchWaitTimeoutSeconds
      "max_ongoing_requests" $r.maxOngoingRequests
      "autoscaling" $r.autoscaling.enabled
      "min_replicas" $r.autoscaling.minReplicas
      "max_replicas" $r.autoscaling.maxReplicas -}}
{{- end -}}
{{- toJson $backend -}}
{{- end -}}

{{/* Volume of the model store. */}}
{{- define "polyad.modelStoreVolume" -}}
- name: model-store
{{- if .Values.modelStore.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .Values.modelStore.persistence.existingClaim | default (include "polyad.componentName" (dict "root" . "component" "models")) }}
{{- else }}
  emptyDir:
    sizeLimit: {{ .Values.modelStore.emptyDir.sizeLimit }}
{{- end }}
{{- end -}}

{{- define "polyad.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpDir.sizeLimit }}
{{- end -}}

{{/* Environment every Python container gets: writable caches under /tmp (the root filesystem is read-only). */}}
{{- define "polyad.commonEnv" -}}
- name: HOME
  value: /tmp
- name: XDG_CACHE_HOME
  value: /tmp/.cache
- name: MPLCONFIGDIR
  value: /tmp/matplotlib
- name: POLYAD_MODEL_STORE
  value: {{ .Values.modelStore.mountPath | quote }}
{{- end -}}

{{/* Service account names. */}}
{{- define "polyad.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "polyad.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "polyad.gateway.serviceAccountName" -}}
{{- if .Values.gateway.serviceAccount.create -}}
{{- default (include "polyad.componentName" (dict "root" . "component" "gateway")) .Values.gateway.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.gateway.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Name of the API-key Secret. */}}
{{- define "polyad.gateway.authSecretName" -}}
{{- .Values.gateway.auth.existingSecret | default (include "polyad.componentName" (dict "root" . "component" "gateway-auth")) -}}
{{- end -}}

{{/* Checks of value combinations the schema cannot express. */}}
{{- define "polyad.validateValues" -}}
{{- $root := . -}}
{{- $enabled := list -}}
{{- range $name := splitList " " (include "polyad.serviceNames" .) -}}
{{- $svc := include "polyad.serviceValues" (dict "root" $root "name" $name) | fromJson -}}
{{- if $svc.enabled -}}
{{- $enabled = append $enabled $name -}}
{{- if and $root.Values.ray.enabled (gt (float64 $svc.ray.numGpus) 0.0) (eq (int $svc.ray.worker.gpus) 0) -}}
{{- fail (printf "%s.ray.numGpus is %v but %s.ray.worker.gpus is 0: its replicas would never be scheduled; give its worker group GPUs" $name $svc.ray.numGpus $name) -}}
{{- end -}}
{{- $w := $svc.ray.worker -}}
{{- if not (and (le (int $w.minReplicas) (int $w.replicas)) (le (int $w.replicas) (int $w.maxReplicas))) -}}
{{- fail (printf "%s.ray.worker: need minReplicas <= replicas <= maxReplicas (got %v, %v, %v)" $name $w.minReplicas $w.replicas $w.maxReplicas) -}}
{{- end -}}
{{- if gt (int $svc.ray.autoscaling.minReplicas) (int $svc.ray.autoscaling.maxReplicas) -}}
{{- fail (printf "%s.ray.autoscaling: minReplicas exceeds maxReplicas" $name) -}}
{{- end -}}
{{- if gt (int $svc.autoscaling.minReplicas) (int $svc.autoscaling.maxReplicas) -}}
{{- fail (printf "%s.autoscaling: minReplicas exceeds maxReplicas" $name) -}}
{{- end -}}
{{- if and $root.Values.ray.enabled (gt (float64 $svc.ray.numGpus) (float64 $svc.ray.worker.gpus)) -}}
{{- fail (printf "%s.ray.numGpus (%v per replica) exceeds %s.ray.worker.gpus (%v per worker pod)" $name $svc.ray.numGpus $name $svc.ray.worker.gpus) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (not $enabled) (not .Values.gateway.extraRoutes) -}}
{{- fail "every domain service is disabled and gateway.extraRoutes is empty: the gateway would have no routes" -}}
{{- end -}}
{{- if gt (int .Values.gateway.autoscaling.minReplicas) (int .Values.gateway.autoscaling.maxReplicas) -}}
{{- fail "gateway.autoscaling: minReplicas exceeds maxReplicas" -}}
{{- end -}}
{{- if and .Values.internalTLS.enabled (not .Values.internalTLS.existingSecret) -}}
{{- fail "internalTLS.enabled needs internalTLS.existingSecret (a Secret with tls.crt, tls.key and ca.crt)" -}}
{{- end -}}
{{- if and .Values.gateway.tls.enabled (not .Values.gateway.tls.existingSecret) -}}
{{- fail "gateway.tls.enabled needs gateway.tls.existingSecret (a kubernetes.io/tls Secret with tls.crt and tls.key)" -}}
{{- end -}}
{{- if and .Values.gateway.auth.enabled (not .Values.gateway.auth.existingSecret) (not .Values.gateway.auth.apiKeys) -}}
{{- fail "gateway.auth.enabled needs gateway.auth.existingSecret or at least one key in gateway.auth.apiKeys" -}}
{{- end -}}
{{- end -}}
