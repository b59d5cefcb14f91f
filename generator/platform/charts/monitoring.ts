import type { PlatformChart } from '../chart.ts';
import type { PlatformSettings } from '../settings.ts';
import { dnsLabel, labelsHelper, object, PLATFORM_CHART_VERSION, stringMap } from './common.ts';

const MONITORS = `apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ .Values.gateway.name }}-envoy
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "monitoring.monitorLabels" . | nindent 4 }}
spec:
  namespaceSelector:
    matchNames:
      - {{ .Values.gateway.namespace }}
  selector:
    matchLabels:
      gateway.networking.k8s.io/gateway-name: {{ .Values.gateway.name }}
  podMetricsEndpoints:
    - port: http-envoy-prom
      path: /stats/prometheus
      interval: {{ .Values.interval }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: istiod
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "monitoring.monitorLabels" . | nindent 4 }}
spec:
  namespaceSelector:
    matchNames:
      - {{ .Values.istiod.namespace }}
  selector:
    matchLabels:
      app: istiod
  endpoints:
    - port: http-monitoring
      interval: {{ .Values.interval }}
`;

// Prometheus' own {{ $labels.x }} / {{ $value }} are emitted through Helm raw strings.
const RULES = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: switchyard-inference
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "monitoring.labels" . | nindent 4 }}
    {{- with .Values.ruleLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  groups:
    - name: switchyard.inference
      rules:
        - alert: SwitchyardTimeToFirstTokenHigh
          expr: |
            histogram_quantile(0.95, sum by (le, namespace, model_name) (rate(vllm:time_to_first_token_seconds_bucket[5m])))
              > {{ .Values.alerts.ttftP95Seconds }}
          for: {{ .Values.alerts.for }}
          labels:
            severity: warning
          annotations:
            summary: {{ \`"TTFT p95 of {{ $labels.model_name }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }}"\` }}
            description: Time to first token (p95 over 5m) is above {{ .Values.alerts.ttftP95Seconds }}s; check queue depth and KV-cache use.
        - alert: SwitchyardQueueDepthHigh
          expr: |
            sum by (namespace, pod) (vllm:num_requests_waiting) > {{ .Values.alerts.queueDepth }}
          for: {{ .Values.alerts.for }}
          labels:
            severity: warning
          annotations:
            summary: {{ \`"{{ $value }} requests waiting on {{ $labels.pod }} in {{ $labels.namespace }}"\` }}
            description: vLLM holds more than {{ .Values.alerts.queueDepth }} waiting requests; add replicas or check router balance.
        - alert: SwitchyardKVCacheNearlyFull
          expr: |
            max by (namespace, pod) (vllm:kv_cache_usage_perc) > {{ .Values.alerts.kvCacheUsage }}
          for: {{ .Values.alerts.for }}
          labels:
            severity: warning
          annotations:
            summary: {{ \`"KV cache of {{ $labels.pod }} in {{ $labels.namespace }} is {{ $value | humanizePercentage }} full"\` }}
            description: KV-cache use above {{ .Values.alerts.kvCacheUsage }} leads to preemptions and longer TTFT.
        - alert: SwitchyardRouterErrors
          expr: |
            sum by (namespace, model_name) (rate(llm_d_epp_request_error_total[5m]))
              / sum by (namespace, model_name) (rate(llm_d_epp_request_total[5m]))
              > {{ .Values.alerts.routerErrorRatio }}
          for: {{ .Values.alerts.for }}
          labels:
            severity: critical
          annotations:
            summary: {{ \`"Router error ratio for {{ $labels.model_name }} in {{ $labels.namespace }} is {{ $value | humanizePercentage }}"\` }}
            description: More than {{ .Values.alerts.routerErrorRatio }} of routed requests fail in the endpoint picker.
`;

const DASHBOARD = `{{- if .Values.dashboard.enabled }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: switchyard-dashboard
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "monitoring.labels" . | nindent 4 }}
    {{- with .Values.dashboard.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
data:
  switchyard.json: |-
    {{- .Files.Get "files/switchyard-dashboard.json" | nindent 4 }}
{{- end }}
`;

interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly expr: string;
  readonly legend: string;
}

const PANELS: readonly Panel[] = [
  {
    title: 'Time to first token p95',
    unit: 's',
    expr: 'histogram_quantile(0.95, sum by (le, namespace, model_name) (rate(vllm:time_to_first_token_seconds_bucket[5m])))',
    legend: '{{namespace}}/{{model_name}}',
  },
  {
    title: 'Inter-token latency p95',
    unit: 's',
    expr: 'histogram_quantile(0.95, sum by (le, namespace, model_name) (rate(vllm:inter_token_latency_seconds_bucket[5m])))',
    legend: '{{namespace}}/{{model_name}}',
  },
  {
    title: 'Requests waiting',
    unit: 'short',
    expr: 'sum by (namespace, pod) (vllm:num_requests_waiting)',
    legend: '{{namespace}}/{{pod}}',
  },
  {
    title: 'Requests running',
    unit: 'short',
    expr: 'sum by (namespace, pod) (vllm:num_requests_running)',
    legend: '{{namespace}}/{{pod}}',
  },
  {
    title: 'KV-cache use',
    unit: 'percentunit',
    expr: 'max by (namespace, pod) (vllm:kv_cache_usage_perc)',
    legend: '{{namespace}}/{{pod}}',
  },
  {
    title: 'Router requests per second',
    unit: 'reqps',
    expr: 'sum by (namespace, model_name) (rate(llm_d_epp_request_total[5m]))',
    legend: '{{namespace}}/{{model_name}}',
  },
  {
    title: 'Router error ratio',
    unit: 'percentunit',
    expr: 'sum by (namespace, model_name) (rate(llm_d_epp_request_error_total[5m])) / sum by (namespace, model_name) (rate(llm_d_epp_request_total[5m]))',
    legend: '{{namespace}}/{{model_name}}',
  },
  {
    title: 'Prefix-cache hit tokens per second',
    unit: 'short',
    expr: 'sum by (namespace, model_name) (rate(llm_d_epp_request_cached_tokens_sum[5m]))',
    legend: '{{namespace}}/{{model_name}}',
  },
];

export function grafanaDashboard(): Record<string, unknown> {
  return {
    title: 'Switchyard inference',
    uid: 'switchyard-inference',
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-3h', to: 'now' },
    refresh: '30s',
    tags: ['switchyard', 'vllm', 'llm-d'],
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }],
    },
    panels: PANELS.map((panel, index) => ({
      id: index + 1,
      type: 'timeseries',
      title: panel.title,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x: (index % 2) * 12, y: Math.floor(index / 2) * 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      targets: [{ refId: 'A', expr: panel.expr, legendFormat: panel.legend }],
    })),
  };
}

export const monitoringChart: PlatformChart = {
  name: 'monitoring',
  description: 'Monitors for the inference gateway and istiod, alert rules on TTFT, queue depth, KV cache and router errors, and a Grafana dashboard',
  version: PLATFORM_CHART_VERSION,
  appVersion: PLATFORM_CHART_VERSION,
  valuesSchema: object('Values of the monitoring chart.', {
    interval: { type: 'string', description: 'Scrape interval.', pattern: '^[0-9]+(s|m)$' },
    monitorLabels: stringMap("Labels the Prometheus' podMonitorSelector / serviceMonitorSelector match."),
    ruleLabels: stringMap("Labels the Prometheus' ruleSelector matches."),
    gateway: object('The shared Gateway whose Envoy proxies are scraped.', {
      name: dnsLabel('Gateway name.'),
      namespace: dnsLabel('Gateway namespace.'),
    }),
    istiod: object('The Istio control plane.', { namespace: dnsLabel('istiod namespace.') }),
    alerts: object('Alert thresholds.', {
      ttftP95Seconds: { type: 'number', description: 'TTFT p95 above this (seconds) alerts.', minimum: 0 },
      queueDepth: { type: 'integer', description: 'Waiting requests per vLLM pod above this alert.', minimum: 0 },
      kvCacheUsage: { type: 'number', description: 'KV-cache use (0..1) above this alerts.', minimum: 0, maximum: 1 },
      routerErrorRatio: { type: 'number', description: 'Router error ratio (0..1) above this alerts.', minimum: 0, maximum: 1 },
      for: { type: 'string', description: 'How long a condition must hold before it fires.', pattern: '^[0-9]+(s|m|h)$' },
    }),
    dashboard: object('Grafana dashboard ConfigMap (picked up by the Grafana dashboard sidecar).', {
      enabled: { type: 'boolean', description: 'Create the ConfigMap.' },
      labels: stringMap('Labels the Grafana sidecar looks for.'),
    }),
  }),
  defaultValues: {
    interval: '30s',
    monitorLabels: {},
    ruleLabels: {},
    gateway: { name: 'inference-gateway', namespace: 'inference-gateway' },
    istiod: { namespace: 'istio-system' },
    alerts: { ttftP95Seconds: 2, queueDepth: 10, kvCacheUsage: 0.9, routerErrorRatio: 0.02, for: '10m' },
    dashboard: { enabled: true, labels: { grafana_dashboard: '1' } },
  },
  templates: {
    '_helpers.tpl': `${labelsHelper('monitoring')}
{{- /* The chart labels plus what the Prometheus monitor selectors match. */}}
{{- define "monitoring.monitorLabels" -}}
{{ include "monitoring.labels" . }}
{{- with .Values.monitorLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
`,
    'monitors.yaml': MONITORS,
    'prometheusrule.yaml': RULES,
    'dashboard-configmap.yaml': DASHBOARD,
  },
  files: { 'files/switchyard-dashboard.json': `${JSON.stringify(grafanaDashboard(), null, 2)}\n` },
  readme: `# monitoring

Platform-level monitoring for a Prometheus Operator installation (its CRDs come from the
\`prometheus-operator-crds\` Application when the profile sets \`monitoring.installCrds\`):

- a \`PodMonitor\` for the Envoy proxies of the shared Gateway and a \`ServiceMonitor\` for istiod
  (model charts carry their own monitors for vLLM and the router);
- a \`PrometheusRule\` with alerts on time to first token (p95), vLLM queue depth, KV-cache use and the
  router's error ratio, thresholds under \`alerts\`;
- a Grafana dashboard as a ConfigMap labelled for the Grafana dashboard sidecar.

Set \`monitorLabels\` / \`ruleLabels\` to what your Prometheus selects (for example \`release: kube-prometheus-stack\`).
`,
};

export function monitoringValues(settings: PlatformSettings): Record<string, unknown> {
  const monitoring = settings.monitoring;
  return {
    interval: monitoring.interval,
    monitorLabels: { ...monitoring.ruleLabels },
    ruleLabels: { ...monitoring.ruleLabels },
    gateway: { name: settings.gateway.name, namespace: settings.gateway.namespace },
    istiod: { namespace: 'istio-system' },
    alerts: { ...monitoring.alerts, for: '10m' },
    dashboard: { enabled: true, labels: { ...monitoring.dashboardLabels } },
  };
}
