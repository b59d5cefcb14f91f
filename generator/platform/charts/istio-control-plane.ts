import type { PlatformChart } from '../chart.ts';
import type { PlatformSettings } from '../settings.ts';
import { dnsLabel, labelsHelper, object, PLATFORM_CHART_VERSION, stringMap } from './common.ts';

const ISTIO = `apiVersion: v1
kind: Namespace
metadata:
  name: {{ .Values.cniNamespace }}
  labels:
    {{- include "istio-control-plane.labels" . | nindent 4 }}
---
apiVersion: sailoperator.io/v1
kind: IstioCNI
metadata:
  name: default
  labels:
    {{- include "istio-control-plane.labels" . | nindent 4 }}
spec:
  version: {{ .Values.version }}
  namespace: {{ .Values.cniNamespace }}
---
apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: default
  labels:
    {{- include "istio-control-plane.labels" . | nindent 4 }}
spec:
  version: {{ .Values.version }}
  namespace: {{ .Values.namespace }}
  updateStrategy:
    type: InPlace
  values:
    pilot:
      env:
        {{- toYaml .Values.pilotEnv | nindent 8 }}
    meshConfig:
      defaultConfig:
        proxyMetadata:
          {{- toYaml .Values.pilotEnv | nindent 10 }}
`;

export const istioControlPlaneChart: PlatformChart = {
  name: 'istio-control-plane',
  description: 'Istio and IstioCNI resources for the Sail operator (OpenShift profile)',
  version: PLATFORM_CHART_VERSION,
  appVersion: PLATFORM_CHART_VERSION,
  valuesSchema: object('Values of the istio-control-plane chart.', {
    version: { type: 'string', description: 'Istio version the Sail operator installs.', pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$' },
    namespace: dnsLabel('Namespace of istiod.'),
    cniNamespace: dnsLabel('Namespace of the Istio CNI node agent.'),
    pilotEnv: stringMap('istiod environment; ENABLE_GATEWAY_API_INFERENCE_EXTENSION makes Istio route to InferencePools.'),
  }),
  defaultValues: {
    version: 'v1.28.0',
    namespace: 'istio-system',
    cniNamespace: 'istio-cni',
    pilotEnv: { ENABLE_GATEWAY_API_INFERENCE_EXTENSION: 'true' },
  },
  templates: { '_helpers.tpl': labelsHelper('istio-control-plane'), 'istio.yaml': ISTIO },
  files: {},
  readme: `# istio-control-plane

On OpenShift the mesh is installed by the Sail operator (the \`sail-operator\` Application); this chart holds
the cluster-scoped \`Istio\` and \`IstioCNI\` resources it reconciles, with the Gateway API inference extension
enabled in istiod. Other cloud profiles install the upstream \`istio/base\` and \`istio/istiod\` charts instead.
`,
};

export function istioControlPlaneValues(settings: PlatformSettings): Record<string, unknown> {
  return {
    version: `v${settings.release.versions.istio}`,
    namespace: 'istio-system',
    cniNamespace: 'istio-cni',
    pilotEnv: { ENABLE_GATEWAY_API_INFERENCE_EXTENSION: 'true' },
  };
}
