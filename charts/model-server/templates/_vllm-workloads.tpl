{{/*
The vLLM workload of one version and stage: (list $ctx track stage), where $ctx is the chart context with the
version's values, track is the version's name ("" without a version split) and stage is "" for a model that is
not disaggregated, else "decode" or "prefill". A Deployment for single-node replicas, a LeaderWorkerSet when a
replica spans nodes.
*/}}
{{- define "model-server.vllmWorkload" -}}
{{- $ := index . 0 -}}
{{- if gt (int $.Values.vllm.nodes) 1 }}
{{- include "model-server.vllmLeaderWorkerSet" . }}
{{- else }}
{{- include "model-server.vllmDeployment" . }}
{{- end }}
{{- end }}

{{/* Name and pod labels of one version's workload of one stage: (list $ track stage). */}}
{{- define "model-server.vllmWorkloadName" -}}
{{- include "model-server.objectName" (list (index . 0) (compact (list "vllm" (index . 1) (index . 2)) | join "-")) -}}
{{- end }}

{{- define "model-server.vllmWorkloadLabels" -}}
{{- $ := index . 0 -}}
{{ include "model-server.selectorLabels" (list $ "vllm") }}
{{- with index . 1 }}
{{ include "model-server.trackLabel" $ }}: {{ . }}
{{- end }}
{{- with index . 2 }}
{{ include "model-server.roleLabel" $ }}: {{ . }}
{{- end }}
{{- end }}

{{/*
Labels of the pods that serve HTTP, beyond the workload's: a disaggregated model's pools select its prefill and its
decode pods, which may be Deployments or LeaderWorkerSets, so its serving pods carry a label of their own.
*/}}
{{- define "model-server.servingPodLabels" -}}
{{- if .Values.disaggregation.enabled }}
{{ include "model-server.servingLabel" . }}: "true"
{{- end }}
{{- end }}

{{- define "model-server.vllmDeployment" -}}
{{- $ := index . 0 -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "model-server.vllmWorkloadName" . }}
  labels:
    {{- include "model-server.labels" (list $ "vllm") | nindent 4 }}
spec:
  {{- if not (include "model-server.autoscaled" (list $ (index . 2))) }}
  replicas: {{ $.Values.vllm.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "model-server.vllmWorkloadLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 0
      maxUnavailable: 1
  template:
    metadata:
      labels:
        {{- include "model-server.vllmWorkloadLabels" . | nindent 8 }}
        {{- include "model-server.servingPodLabels" $ | indent 8 }}
    spec:
      {{- include "model-server.vllmPodSpec" (list $ "server" (index . 2) (index . 1)) | nindent 6 }}
{{- end }}

{{/*
A replica that needs more GPUs than one node holds: one LeaderWorkerSet group of vllm.nodes pods per replica,
each pod taking a whole node's GPUs. The leader serves HTTP and runs vLLM with the Ray executor; workers join
its Ray cluster. A failing pod restarts its whole group, since the ranks of one model instance cannot recover
alone.
*/}}
{{- define "model-server.vllmLeaderWorkerSet" -}}
{{- $ := index . 0 -}}
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata:
  name: {{ include "model-server.vllmWorkloadName" . }}
  labels:
    {{- include "model-server.labels" (list $ "vllm") | nindent 4 }}
  {{- with $.Values.vllm.groupTopologyKey }}
  annotations:
    # Each group gets a node group of its own, so its ranks share one fabric and no other group's pods.
    leaderworkerset.sigs.k8s.io/exclusive-topology: {{ . }}
  {{- end }}
spec:
  {{- if not (include "model-server.autoscaled" (list $ (index . 2))) }}
  replicas: {{ $.Values.vllm.replicas }}
  {{- end }}
  startupPolicy: LeaderCreated
  rolloutStrategy:
    type: RollingUpdate
    rollingUpdateConfiguration:
      maxSurge: 0
      maxUnavailable: 1
  leaderWorkerTemplate:
    size: {{ $.Values.vllm.nodes }}
    restartPolicy: RecreateGroupOnPodRestart
    leaderTemplate:
      metadata:
        labels:
          {{- include "model-server.vllmWorkloadLabels" . | nindent 10 }}
          {{- include "model-server.servingPodLabels" $ | indent 10 }}
      spec:
        {{- include "model-server.vllmPodSpec" (list $ "leader" (index . 2) (index . 1)) | nindent 8 }}
    workerTemplate:
      metadata:
        labels:
          {{- include "model-server.vllmWorkloadLabels" . | nindent 10 }}
      spec:
        {{- include "model-server.vllmPodSpec" (list $ "worker" (index . 2) (index . 1)) | nindent 8 }}
{{- end }}
