{{/*
Object names. The release name is the model name; every object is "<fullname>" or "<fullname>-<suffix>".
A name longer than 63 characters is cut to 54 and ends in 8 hex digits of the SHA-256 of the full name,
exactly as the generator names objects (generator/normalize/names.ts).
*/}}
{{- define "model-server.fullname" -}}
{{- .Values.nameOverride | default .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* (list $ "suffix") -> "<fullname>-<suffix>", or "<fullname>" for an empty suffix. */}}
{{- define "model-server.objectName" -}}
{{- $full := include "model-server.fullname" (index . 0) -}}
{{- $suffix := index . 1 -}}
{{- if $suffix }}{{ $full = printf "%s-%s" $full $suffix }}{{ end -}}
{{- if le (len $full) 63 -}}
{{- $full -}}
{{- else -}}
{{- printf "%s-%s" ($full | trunc 54 | regexReplaceAll "-+$" "") (sha256sum $full | trunc 8) -}}
{{- end -}}
{{- end }}

{{- define "model-server.vllmName" -}}{{ include "model-server.objectName" (list . "vllm") }}{{- end }}
{{- define "model-server.poolName" -}}{{ include "model-server.objectName" (list . "") }}{{- end }}
{{- define "model-server.routerName" -}}{{ include "model-server.objectName" (list . "router") }}{{- end }}
{{- define "model-server.routerTlsName" -}}{{ include "model-server.objectName" (list . "router-tls") }}{{- end }}
{{- define "model-server.routeName" -}}{{ include "model-server.objectName" (list . "") }}{{- end }}
{{- define "model-server.rewritesName" -}}{{ include "model-server.objectName" (list . "aliases") }}{{- end }}
{{- define "model-server.metricsClientName" -}}{{ include "model-server.objectName" (list . "metrics-client") }}{{- end }}
{{- define "model-server.testName" -}}{{ include "model-server.objectName" (list . "test") }}{{- end }}

{{/* Path prefix of the model on the shared gateway: /<namespace>/<model>/. */}}
{{- define "model-server.pathPrefix" -}}
{{- printf "/%s/%s/" .Release.Namespace (include "model-server.fullname" .) -}}
{{- end }}

{{/* Labels of every object: (list $ "component"). */}}
{{- define "model-server.labels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "model-server.fullname" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
app.kubernetes.io/part-of: switchyard
{{- end }}

{{/*
Selector labels: (list $ "component"). Pod templates carry only these, so a chart or app version change
does not restart every model's pods.
*/}}
{{- define "model-server.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "model-server.fullname" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* An image reference from {repository, tag}; a tag "sha256:…" is a digest. */}}
{{- define "model-server.image" -}}
{{ .repository }}{{ if hasPrefix "sha256:" .tag }}@{{ else }}:{{ end }}{{ .tag }}
{{- end }}

{{/* Ports and paths shared by the router's Deployment, Service, probes, policies and certificate. */}}
{{- define "model-server.vllmPort" -}}8000{{- end }}
{{- define "model-server.routerGrpcPort" -}}9002{{- end }}
{{- define "model-server.routerHealthPort" -}}9003{{- end }}
{{- define "model-server.routerMetricsPort" -}}9090{{- end }}
{{- define "model-server.routerConfigDir" -}}/config{{- end }}
{{- define "model-server.routerCertDir" -}}/var/run/switchyard/router-tls{{- end }}
{{- define "model-server.modelMountPath" -}}/mnt/models{{- end }}
{{/*
API group of the InferenceObjectives and InferenceModelRewrites this chart emits; the router watches it
(--objective-api-group), because its own default is llm-d's newer llm-d.ai group.
*/}}
{{- define "model-server.objectiveApiGroup" -}}inference.networking.x-k8s.io{{- end }}

{{/* Egress to the cluster DNS, which every pod of the chart needs. */}}
{{- define "model-server.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{- define "model-server.rayPort" -}}6379{{- end }}

{{/* The Prometheus that analyses and autoscalers query. */}}
{{- define "model-server.prometheusUrl" -}}
{{- .Values.monitoring.prometheusUrl | default (printf "http://prometheus-operated.%s.svc:9090" .Values.monitoring.namespace) -}}
{{- end }}

{{/*
How fast autoscalers move: up as soon as the queue asks (a new GPU pod takes minutes to serve anyway), down one
replica at a time once the lower count has held for autoscaling.scaleDownDelaySeconds.
*/}}
{{- define "model-server.autoscalingBehavior" -}}
scaleUp:
  stabilizationWindowSeconds: 0
scaleDown:
  stabilizationWindowSeconds: {{ .Values.autoscaling.scaleDownDelaySeconds }}
  policies:
    - type: Pods
      value: 1
      periodSeconds: 120
{{- end }}

{{/*
Labels of the vLLM pods KServe's controller runs for this model's LLMInferenceService, and the pods this chart's
policies then hold: KServe's in KServe mode, the chart's own otherwise. KServe names the pods after their
LLMInferenceService; with a version split there is one per version, so the pods are found by the model label each
version's LLMInferenceService hands them (spec.labels). Of a group across nodes, only the leader is a workload pod
(kserve.io/component), the one that serves HTTP.
*/}}
{{- define "model-server.kserveModelPodLabels" -}}
app.kubernetes.io/part-of: llminferenceservice
{{- if .Values.versions.enabled }}
{{ include "model-server.modelLabel" . }}: {{ include "model-server.fullname" . }}
{{- else }}
app.kubernetes.io/name: {{ include "model-server.fullname" . }}
{{- end }}
{{- end }}

{{- define "model-server.kservePodLabels" -}}
{{ include "model-server.kserveModelPodLabels" . }}
kserve.io/component: workload
{{- end }}

{{- define "model-server.modelLabel" -}}switchyard.dev/model{{- end }}

{{- define "model-server.vllmPodLabels" -}}
{{- if .Values.kserve.enabled -}}
{{ include "model-server.kserveModelPodLabels" . }}
{{- else -}}
{{ include "model-server.selectorLabels" (list . "vllm") }}
{{- end -}}
{{- end }}

{{/* Whether the autoscaler owns a workload's replica count: (list $ stage). Prefill replicas stay fixed. */}}
{{- define "model-server.autoscaled" -}}
{{- if and (index . 0).Values.autoscaling.enabled (ne (index . 1) "prefill") }}true{{ end -}}
{{- end }}

{{/*
vLLM's TLS (vllm.tls.enabled): its certificate's Secret, where the pods mount it, the name every client checks in
it (pods are dialled by IP, so clients verify this name rather than the address), and the scheme clients use.
*/}}
{{- define "model-server.vllmTlsName" -}}{{ include "model-server.objectName" (list . "vllm-tls") }}{{- end }}
{{- define "model-server.vllmCertDir" -}}/var/run/switchyard/vllm-tls{{- end }}
{{- define "model-server.vllmServerName" -}}{{ include "model-server.vllmName" . }}.{{ .Release.Namespace }}.svc{{- end }}
{{- define "model-server.vllmScheme" -}}{{ ternary "https" "http" .Values.vllm.tls.enabled }}{{- end }}

{{/* vLLM's flags that serve the certificate and reload it when cert-manager renews it, as a YAML list. */}}
{{- define "model-server.vllmTlsArgs" -}}
{{- if .Values.vllm.tls.enabled }}
- --ssl-certfile
- {{ include "model-server.vllmCertDir" . }}/tls.crt
- --ssl-keyfile
- {{ include "model-server.vllmCertDir" . }}/tls.key
- --enable-ssl-refresh
{{- end }}
{{- end }}

{{/*
Istio's name for the Service it creates for an InferencePool and routes the pool's traffic through ("shadow"
Service: the pool name, "-ip-", the first 8 hex digits of the name's SHA-256, the name cut to fit 63 characters).
A DestinationRule on this host sets how the gateway connects to the pool's pods.
*/}}
{{- define "model-server.poolShadowServiceName" -}}
{{- printf "%s-ip-%s" (trunc 51 .) (sha256sum . | trunc 8) -}}
{{- end }}

{{/*
Prefill/decode disaggregation: a decode pod's vLLM listens on decodeVllmPort behind llm-d's routing sidecar, which
takes the HTTP port; both stages serve the NIXL handshake on nixlSideChannelPort. The pods' role label is what the
router's prefill-filter and decode-filter read.
*/}}
{{- define "model-server.decodeVllmPort" -}}8200{{- end }}
{{- define "model-server.nixlSideChannelPort" -}}5600{{- end }}
{{- define "model-server.roleLabel" -}}llm-d.ai/role{{- end }}
{{- define "model-server.servingLabel" -}}switchyard.dev/serving{{- end }}
{{- define "model-server.pdSidecarName" -}}{{ include "model-server.objectName" (list . "pd-sidecar") }}{{- end }}
{{- define "model-server.pdSidecarTokenVolume" -}}pd-sidecar-token{{- end }}
{{/* KServe's name for the routing sidecar: its decode preset's container of that name merges into this chart's. */}}
{{- define "model-server.pdSidecarContainerName" -}}llm-d-routing-sidecar{{- end }}

{{/*
llm-d's routing sidecar of a decode pod, as a native sidecar: (list $ track). It sends the prefill of a request to
the pod the router named in x-prefiller-host-port, then decodes locally; it forwards every other path (/metrics,
/health) to vLLM. It accepts only prefill hosts that are pods of its own InferencePool (SSRF protection), which it
watches with the token mounted into this container alone.
*/}}
{{- define "model-server.pdSidecarContainer" -}}
{{- $ := index . 0 -}}
{{- $track := index . 1 -}}
- name: {{ include "model-server.pdSidecarContainerName" $ }}
  image: {{ include "model-server.image" $.Values.disaggregation.sidecar.image | quote }}
  imagePullPolicy: IfNotPresent
  restartPolicy: Always
  args:
    - --port={{ include "model-server.vllmPort" $ }}
    - --model-server-port={{ include "model-server.decodeVllmPort" $ }}
    - --kv-connector={{ $.Values.disaggregation.sidecar.kvConnector }}
    {{- if $.Values.vllm.tls.enabled }}
    # Serves with the model's vLLM certificate, like every vLLM pod; reaches its own vLLM over TLS on localhost,
    # verified against the platform CA (SSL_CERT_FILE). Prefill pods are dialled by IP, which their certificate
    # does not name: those connections are encrypted but not verified.
    - --secure-proxy=true
    - --cert-path={{ include "model-server.vllmCertDir" $ }}
    - --enable-tls=decoder,prefiller
    - --tls-insecure-skip-verify=prefiller
    {{- else }}
    - --secure-proxy=false
    {{- end }}
    - --enable-ssrf-protection=true
    - --inference-pool={{ $.Release.Namespace }}/{{ include "model-server.objectName" (list $ $track) }}
    - --pool-group=inference.networking.k8s.io
  {{- if $.Values.vllm.tls.enabled }}
  env:
    - name: SSL_CERT_FILE
      value: {{ include "model-server.vllmCertDir" $ }}/ca.crt
  {{- end }}
  ports:
    - name: http
      containerPort: {{ include "model-server.vllmPort" $ }}
      protocol: TCP
  readinessProbe:
    httpGet:
      path: /health
      port: http
      scheme: {{ include "model-server.vllmScheme" $ | upper }}
    periodSeconds: 5
    timeoutSeconds: 3
  # Stated, so that KServe's decode preset cannot bring its own (plain HTTP) under this name.
  livenessProbe:
    httpGet:
      path: /health
      port: http
      scheme: {{ include "model-server.vllmScheme" $ | upper }}
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 3
  resources:
    {{- toYaml $.Values.disaggregation.sidecar.resources | nindent 4 }}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities:
      drop:
        - ALL
    readOnlyRootFilesystem: true
  volumeMounts:
    - name: {{ include "model-server.pdSidecarTokenVolume" $ }}
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- if $.Values.vllm.tls.enabled }}
    - name: vllm-tls
      mountPath: {{ include "model-server.vllmCertDir" $ }}
      readOnly: true
    {{- end }}
{{- end }}

{{/*
Labels of the vLLM pods that serve HTTP (what the InferencePool, the Service and the PodMonitor select): every
vLLM pod of a single-node model, only the leaders of a LeaderWorkerSet group (worker index 0); for a disaggregated
model, whose stages may differ in shape, the serving label its serving pods carry; in KServe mode, KServe's
workload pods.
*/}}
{{- define "model-server.servingSelectorLabels" -}}
{{- if .Values.kserve.enabled -}}
{{ include "model-server.kservePodLabels" . }}
{{- else -}}
{{ include "model-server.selectorLabels" (list . "vllm") }}
{{- if .Values.disaggregation.enabled }}
{{ include "model-server.servingLabel" . }}: "true"
{{- else if gt (int .Values.vllm.nodes) 1 }}
leaderworkerset.sigs.k8s.io/worker-index: "0"
{{- end }}
{{- end }}
{{- end }}

{{/*
Pod label that tells a model's pools apart: Argo Rollouts' stableMetadata / canaryMetadata set it on a canary's
pods, a version split's workloads carry the version name.
*/}}
{{- define "model-server.trackLabel" -}}switchyard.dev/track{{- end }}

{{/*
The InferencePools of the model, as a YAML list; each has its own router container (ports offset by 10) in the
router pods, because one picker serves one pool. One pool for a plain model; with a canary rollout, the pool
"<fullname>-stable" selects the pods labelled track=stable and "<fullname>-canary" those labelled track=canary;
with a version split, the pool "<fullname>-<version>" selects the pods labelled track=<version>. Each pool's weight
is its backendRef weight in git: 1 alone; stable 100 and canary 0 (the Rollouts plugin moves them); a version's
share of the split.
*/}}
{{- define "model-server.pools" -}}
{{- if .Values.rollout.enabled }}
- name: {{ include "model-server.objectName" (list . "stable") }}
  track: stable
  objectPrefix: ""
  container: router
  grpcPortName: grpc-ext-proc
  healthPortName: grpc-health
  metricsPortName: http-metrics
  grpcContainerPort: grpc
  healthContainerPort: grpc-health
  metricsContainerPort: metrics
  portOffset: 0
  weight: 100
- name: {{ include "model-server.objectName" (list . "canary") }}
  track: canary
  objectPrefix: canary
  container: router-canary
  grpcPortName: grpc-canary
  healthPortName: grpc-health-cn
  metricsPortName: http-metrics-cn
  grpcContainerPort: grpc-canary
  healthContainerPort: health-canary
  metricsContainerPort: metrics-canary
  portOffset: 10
  weight: 0
{{- else if .Values.versions.enabled }}
{{- range $index, $version := .Values.versions.list }}
- name: {{ include "model-server.objectName" (list $ $version.name) }}
  track: {{ $version.name }}
  objectPrefix: {{ $version.name }}
  container: router-{{ $version.name }}
  grpcPortName: grpc-v{{ $index }}
  healthPortName: grpc-health-v{{ $index }}
  metricsPortName: http-metrics-v{{ $index }}
  grpcContainerPort: grpc-v{{ $index }}
  healthContainerPort: health-v{{ $index }}
  metricsContainerPort: metrics-v{{ $index }}
  portOffset: {{ mul $index 10 }}
  weight: {{ $version.weight }}
{{- end }}
{{- else }}
- name: {{ include "model-server.poolName" . }}
  track: ""
  objectPrefix: ""
  container: router
  grpcPortName: grpc-ext-proc
  healthPortName: grpc-health
  metricsPortName: http-metrics
  grpcContainerPort: grpc
  healthContainerPort: grpc-health
  metricsContainerPort: metrics
  portOffset: 0
  weight: 1
{{- end }}
{{- end }}

{{/* The name of an object that exists once per pool: (list $ pool "suffix"). */}}
{{- define "model-server.poolObjectName" -}}
{{- $ := index . 0 -}}
{{- $pool := index . 1 -}}
{{- $suffix := index . 2 -}}
{{- include "model-server.objectName" (list $ (compact (list $pool.objectPrefix $suffix) | join "-")) -}}
{{- end }}

{{/* What every HTTPRoute of the model shares: the gateway it attaches to, the path rewrite, the timeouts. */}}
{{- define "model-server.routeParentRefs" -}}
- group: gateway.networking.k8s.io
  kind: Gateway
  name: {{ .Values.route.gateway.name }}
  namespace: {{ .Values.route.gateway.namespace }}
  {{- with .Values.route.gateway.sectionName }}
  sectionName: {{ . }}
  {{- end }}
{{- end }}

{{/*
The ways in to the model, as a YAML list of HTTPRoute matches with whether the path prefix is rewritten to "/":
its own path "/<namespace>/<model>/", and with the shared endpoint "/v1/" carrying the header the environment's
body-based router sets to the model's served name. Every route of the model has one rule per way in.
*/}}
{{- define "model-server.routeEntries" -}}
- rewrite: true
  match:
    path:
      type: PathPrefix
      value: {{ include "model-server.pathPrefix" . }}
{{- if .Values.route.sharedEndpoint.enabled }}
- rewrite: false
  match:
    path:
      type: PathPrefix
      value: /v1/
    headers:
      - type: Exact
        name: {{ .Values.route.sharedEndpoint.header }}
        value: {{ .Values.model.servedName | quote }}
{{- end }}
{{- end }}

{{- define "model-server.routeFilters" -}}
- type: URLRewrite
  urlRewrite:
    path:
      type: ReplacePrefixMatch
      replacePrefixMatch: /
{{- end }}

{{- define "model-server.routeTimeouts" -}}
request: {{ .Values.route.requestTimeout }}
backendRequest: {{ .Values.route.requestTimeout }}
{{- end }}

{{/* Arguments of the model's AnalysisTemplate for one pool: (list $ poolName track). */}}
{{- define "model-server.analysisArgs" -}}
- name: namespace
  value: {{ (index . 0).Release.Namespace }}
- name: pool
  value: {{ index . 1 }}
- name: track
  value: {{ index . 2 }}
{{- end }}
