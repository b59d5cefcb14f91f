import type { ValuesSchema } from '../chart.ts';

/** Version of our platform charts; bumped when their templates change. */
export const PLATFORM_CHART_VERSION = '0.1.0';

/** `_helpers.tpl` with the recommended labels, under a chart-specific name. */
export function labelsHelper(chart: string): string {
  return `{{- define "${chart}.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchyard
helm.sh/chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") }}
{{- end }}
`;
}

export function stringMap(description: string): ValuesSchema {
  return { type: 'object', description, additionalProperties: { type: 'string' } };
}

export function dnsLabel(description: string): ValuesSchema {
  return { type: 'string', description, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' };
}

export function object(
  description: string,
  properties: Readonly<Record<string, ValuesSchema>>,
  required: readonly string[] = Object.keys(properties),
): ValuesSchema {
  return { type: 'object', description, additionalProperties: false, properties, required };
}
