{{/*
The vLLM pod spec: (list $ role stage track). role is "server" for a single-node replica, "leader" or "worker" for
the pods of a LeaderWorkerSet group; stage is "" or, for a disaggregated model, "decode" or "prefill"; track is the
version's name ("" without a version split). One definition, so every pod has the same volumes, security and
placement. A decode pod's serving pod runs llm-d's routing sidecar on the HTTP port, in front of vLLM.
*/}}
{{- define "model-server.vllmPodSpec" -}}
{{- $role := index . 1 -}}
{{- $stage := index . 2 -}}
{{- $track := index . 3 -}}
{{- $sidecar := and (eq $stage "decode") (ne $role "worker") -}}
{{- with index . 0 -}}
{{- $port := ternary (include "model-server.decodeVllmPort" .) (include "model-server.vllmPort" .) $sidecar -}}
automountServiceAccountToken: false
{{- if $sidecar }}
serviceAccountName: {{ include "model-server.pdSidecarName" . }}
{{- end }}
terminationGracePeriodSeconds: {{ .Values.vllm.terminationGracePeriodSeconds }}
securityContext:
  runAsNonRoot: true
  runAsUser: 1001
  runAsGroup: 1001
  fsGroup: 1001
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.vllm.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.vllm.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $sidecar }}
initContainers:
  {{- include "model-server.pdSidecarContainer" (list . $track) | nindent 2 }}
{{- end }}
containers:
  - name: vllm
    image: {{ include "model-server.image" .Values.vllm.image | quote }}
    imagePullPolicy: IfNotPresent
    {{- if eq $role "server" }}
    args:
      {{- toYaml .Values.vllm.args | nindent 6 }}
      {{- include "model-server.vllmTlsArgs" . | nindent 6 }}
    {{- else }}
    {{- include "model-server.rayLaunch" (list . $role .Values.vllm.args) | nindent 4 }}
    {{- end }}
    env:
      - name: HOME
        value: /home/vllm
      - name: HF_HOME
        value: /models
      - name: PYTHONHASHSEED
        value: {{ .Values.vllm.hashSeed | quote }}
      - name: VLLM_NO_USAGE_STATS
        value: "1"
      # Caches vLLM, torch.compile and Triton write go under $HOME, a volume.
      - name: XDG_CACHE_HOME
        value: /home/vllm/.cache
      - name: TRITON_CACHE_DIR
        value: /home/vllm/.triton
      {{- include "model-server.vllmStageEnv" (list . $role $stage) | nindent 6 }}
      {{- include "model-server.vllmSecretEnv" . | nindent 6 }}
    ports:
      - name: {{ ternary "vllm" "http" $sidecar }}
        containerPort: {{ $port }}
        protocol: TCP
      {{- include "model-server.vllmStagePorts" (list . $role $stage) | nindent 6 }}
    resources:
      {{- include "model-server.vllmResources" . | nindent 6 }}
    {{- if ne $role "worker" }}
    {{- include "model-server.vllmProbes" (list . (ternary "vllm" "http" $sidecar)) | nindent 4 }}
    {{- end }}
    lifecycle:
      preStop:
        sleep:
          seconds: {{ .Values.vllm.preStopSleepSeconds }}
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop:
          - ALL
      readOnlyRootFilesystem: {{ .Values.vllm.readOnlyRootFilesystem }}
    volumeMounts:
      - name: dshm
        mountPath: /dev/shm
      - name: model-cache
        mountPath: /models
      - name: home
        mountPath: /home/vllm
      - name: tmp
        mountPath: /tmp
      {{- if ne .Values.model.source.kind "hf" }}
      - name: model-source
        mountPath: {{ include "model-server.modelMountPath" . }}
        readOnly: true
      {{- end }}
      {{- if and .Values.vllm.tls.enabled (ne $role "worker") }}
      - name: vllm-tls
        mountPath: {{ include "model-server.vllmCertDir" . }}
        readOnly: true
      {{- end }}
  {{- if and .Values.vllm.metricsProxy.enabled (ne $role "worker") }}
  {{- include "model-server.vllmMetricsProxyContainer" (list . $port) | nindent 2 }}
  {{- end }}
volumes:
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ .Values.vllm.shmSize }}
  - name: model-cache
    {{- if .Values.vllm.sharedCache.storageClassName }}
    persistentVolumeClaim:
      claimName: {{ include "model-server.objectName" (list . "model-cache") }}
    {{- else }}
    emptyDir:
      sizeLimit: {{ .Values.vllm.cacheSize }}
    {{- end }}
  - name: home
    emptyDir: {}
  - name: tmp
    emptyDir: {}
  {{- if and .Values.vllm.tls.enabled (ne $role "worker") }}
  # Issued by cert-manager (vllm-certificate.yaml); vLLM and the routing sidecar reload it when it is renewed.
  - name: vllm-tls
    secret:
      secretName: {{ include "model-server.vllmTlsName" . }}
      defaultMode: 0440
  {{- end }}
  {{- if $sidecar }}
  {{- include "model-server.pdSidecarTokenVolumeSpec" . | nindent 2 }}
  {{- end }}
  {{- if eq .Values.model.source.kind "pvc" }}
  - name: model-source
    persistentVolumeClaim:
      claimName: {{ required "model.source.claim is required for a pvc:// model" .Values.model.source.claim }}
      readOnly: true
  {{- else if eq .Values.model.source.kind "oci" }}
  - name: model-source
    image:
      reference: {{ required "model.source.reference is required for an oci:// model" .Values.model.source.reference | quote }}
      pullPolicy: IfNotPresent
  {{- end }}
{{- end -}}
{{- end }}

{{/* The vLLM container's secrets, by reference: the API key it requires and the Hugging Face token. */}}
{{- define "model-server.vllmSecretEnv" -}}
{{- with .Values.vllm.apiKeySecret }}
{{- if .name }}
- name: VLLM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- with .Values.model.hfTokenSecret }}
{{- if .name }}
- name: HF_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end }}

{{/* The vLLM container's requests and limits: CPU requested, memory and the pod's GPUs requested and capped. */}}
{{- define "model-server.vllmResources" -}}
requests:
  cpu: {{ .Values.vllm.resources.cpu | quote }}
  memory: {{ .Values.vllm.resources.memory | quote }}
  {{ .Values.vllm.gpuResource }}: {{ .Values.vllm.gpus | quote }}
limits:
  memory: {{ .Values.vllm.resources.memory | quote }}
  {{ .Values.vllm.gpuResource }}: {{ .Values.vllm.gpus | quote }}
{{- end }}

{{/*
vLLM's startup, liveness and readiness probes on /health: (list $ port), the port by name or number, in the scheme
vLLM serves (vllm.tls.enabled). One definition for the chart's own pods and KServe's main container.
*/}}
{{- define "model-server.vllmProbes" -}}
{{- $ := index . 0 -}}
{{- $port := index . 1 -}}
{{- $get := dict "path" "/health" "port" $port "scheme" (include "model-server.vllmScheme" $ | upper) -}}
startupProbe:
  httpGet:
    {{- toYaml $get | nindent 4 }}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: {{ $.Values.vllm.startupFailureThreshold }}
livenessProbe:
  httpGet:
    {{- toYaml $get | nindent 4 }}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    {{- toYaml $get | nindent 4 }}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
{{- end }}

{{/*
How a pod of a group that spans nodes starts: (list $ role args), role "leader" or "worker", args vLLM's. The
leader heads the group's Ray cluster, waits until every node of the group has joined (LeaderWorkerSet sets
LWS_GROUP_SIZE and LWS_LEADER_ADDRESS), then serves; a worker joins the leader's Ray cluster and holds its GPUs for
the ranks vLLM places there. The chart's LeaderWorkerSets and KServe's both start their pods this way.
*/}}
{{- define "model-server.rayLaunch" -}}
{{- $ := index . 0 -}}
{{- $port := include "model-server.rayPort" $ -}}
command: ["/bin/sh", "-c"]
args:
{{- if eq (index . 1) "leader" }}
  - >-
    ray start --head --port={{ $port }} --disable-usage-stats &&
    until [ "$(python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(sum(1 for n in ray.nodes() if n["Alive"]))')" -ge "$LWS_GROUP_SIZE" ];
    do sleep 5; done &&
    exec vllm serve{{ range concat (index . 2) (include "model-server.vllmTlsArgs" $ | fromYamlArray) }} {{ . | squote }}{{ end }}
{{- else }}
  - exec ray start --address=$(LWS_LEADER_ADDRESS):{{ $port }} --block --disable-usage-stats
{{- end }}
{{- end }}

{{/*
The routing sidecar's service account token, mounted into the sidecar only (the pod mounts none): a volume entry.
*/}}
{{- define "model-server.pdSidecarTokenVolumeSpec" -}}
- name: {{ include "model-server.pdSidecarTokenVolume" . }}
  projected:
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end }}

{{/*
The vLLM metrics proxy beside a serving vLLM container: (list $ vllmPort). The router image serving GET /metrics of
the vLLM in the pod and nothing else, so that the monitoring namespace is let in to its port only (vLLM serves its
API and /metrics on one port). With vLLM's TLS it checks vLLM's certificate, serves the same pair, and answers only
Prometheus's client certificate from the platform CA, as the router's metrics port does.
*/}}
{{- define "model-server.vllmMetricsProxyContainer" -}}
{{- $ := index . 0 -}}
{{- $certDir := include "model-server.vllmCertDir" $ -}}
- name: metrics-proxy
  image: {{ include "model-server.image" $.Values.router.image | quote }}
  imagePullPolicy: IfNotPresent
  args:
    - metrics-proxy
    - --port={{ $.Values.vllm.metricsProxy.port }}
    - --vllm-port={{ index . 1 }}
    {{- if $.Values.vllm.tls.enabled }}
    - --model-server-scheme=https
    - --model-server-ca-file={{ $certDir }}/ca.crt
    - --model-server-server-name={{ include "model-server.vllmServerName" $ }}
    - --cert-path={{ $certDir }}
    - --client-ca-file={{ $certDir }}/ca.crt
    - --client-names={{ $.Values.monitoring.clientName }}
    {{- end }}
  ports:
    - name: metrics
      containerPort: {{ $.Values.vllm.metricsProxy.port }}
      protocol: TCP
  readinessProbe:
    tcpSocket:
      port: metrics
    periodSeconds: 10
  resources:
    requests:
      cpu: {{ $.Values.vllm.metricsProxy.resources.cpu | quote }}
      memory: {{ $.Values.vllm.metricsProxy.resources.memory | quote }}
    limits:
      memory: {{ $.Values.vllm.metricsProxy.resources.memory | quote }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    allowPrivilegeEscalation: false
    capabilities:
      drop:
        - ALL
    readOnlyRootFilesystem: true
  {{- if $.Values.vllm.tls.enabled }}
  volumeMounts:
    - name: vllm-tls
      mountPath: {{ $certDir }}
      readOnly: true
  {{- end }}
{{- end }}

{{/* The port Prometheus scrapes vLLM's metrics on: the metrics proxy's, else vLLM's own (named http or vllm). */}}
{{- define "model-server.vllmMetricsPortName" -}}
{{- if .Values.vllm.metricsProxy.enabled }}metrics{{ else }}http{{ end -}}
{{- end }}

{{/*
What a vLLM container adds for its role and stage: (list $ role stage). Prefill and decode pods serve NIXL's
handshake (the KV cache moves between them); pods that serve HTTP publish KV-cache events under their IP when the
prefix cache is precise; the pods of a group across nodes talk Ray. The chart's pods and KServe's share these.
*/}}
{{- define "model-server.vllmStageEnv" -}}
{{- $ := index . 0 -}}
{{- if index . 2 }}
# The KV cache moves between prefill and decode pods over NIXL; the engine serves its handshake here.
- name: VLLM_NIXL_SIDE_CHANNEL_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: VLLM_NIXL_SIDE_CHANNEL_PORT
  value: {{ include "model-server.nixlSideChannelPort" $ | quote }}
{{- end }}
{{- if and (gt (int $.Values.vllm.kvEventsPort) 0) (ne (index . 1) "worker") }}
# vLLM's KV-cache event topic names the pod (--kv-events-config expands $(POD_IP)).
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- end }}
{{- end }}

{{- define "model-server.vllmStagePorts" -}}
{{- $ := index . 0 -}}
{{- if index . 2 }}
- name: nixl
  containerPort: {{ include "model-server.nixlSideChannelPort" $ }}
  protocol: TCP
{{- end }}
{{- if and (gt (int $.Values.vllm.kvEventsPort) 0) (ne (index . 1) "worker") }}
- name: kv-events
  containerPort: {{ $.Values.vllm.kvEventsPort }}
  protocol: TCP
{{- end }}
{{- if ne (index . 1) "server" }}
- name: ray
  containerPort: {{ include "model-server.rayPort" $ }}
  protocol: TCP
{{- end }}
{{- end }}
