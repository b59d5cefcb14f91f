{{/*
The service-level checks of one track: time to first token and error ratio from the router of the track's pool,
inter-token latency from the track's vLLM pods: (list $ namespace pool track namePrefix). The canary's AnalysisTemplate
passes Argo Rollouts argument placeholders, a version split's AnalysisRun the values themselves. A metric with
no data (no traffic, NaN) meets neither condition and is Inconclusive: no data never passes.
*/}}
{{- define "model-server.sloMetrics" -}}
{{- $args := . -}}
{{- $ := index . 0 -}}
{{- $a := $.Values.analysis -}}
{{- $address := include "model-server.prometheusUrl" $ -}}
{{- $router := printf "namespace=\"%s\",pool=\"%s\"" (index . 1) (index . 2) -}}
{{- $vllm := printf "namespace=\"%s\",model_name=\"%s\",track=\"%s\"" (index . 1) $.Values.model.servedName (index . 3) -}}
{{- $metrics := list
    (dict "name" "ttft-p95" "limit" $a.ttftP95Seconds "query" (printf "histogram_quantile(0.95, sum by (le) (rate(llm_d_epp_request_ttft_seconds_bucket{%s}[%s])))" $router $a.window))
    (dict "name" "inter-token-latency-p95" "limit" $a.interTokenLatencyP95Seconds "query" (printf "histogram_quantile(0.95, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket{%s}[%s])))" $vllm $a.window))
    (dict "name" "error-ratio" "limit" $a.errorRatio "query" (printf "(sum(rate(llm_d_epp_request_error_total{%s}[%s])) or vector(0)) / sum(rate(llm_d_epp_request_total{%s}[%s]))" $router $a.window $router $a.window)) }}
{{- range $metrics }}
- name: {{ index $args 4 }}{{ .name }}
  interval: {{ $a.interval }}
  count: {{ $a.count }}
  failureLimit: {{ $a.failureLimit }}
  successCondition: len(result) > 0 && !isNaN(result[0]) && result[0] <= {{ .limit }}
  failureCondition: len(result) > 0 && !isNaN(result[0]) && result[0] > {{ .limit }}
  provider:
    prometheus:
      address: {{ $address }}
      query: {{ .query | quote }}
{{- end }}
{{- end }}
