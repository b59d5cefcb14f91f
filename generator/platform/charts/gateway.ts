import type { PlatformChart } from '../chart.ts';
import { loadBalancerAnnotations } from '../clouds.ts';
import type { PlatformSettings } from '../settings.ts';
import { dnsLabel, labelsHelper, object, PLATFORM_CHART_VERSION, stringMap } from './common.ts';

const CERTIFICATE = `{{- if .Values.tls.enabled }}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ .Values.name }}-tls
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gateway.labels" . | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  secretName: {{ .Values.tls.secretName }}
  dnsNames:
    {{- toYaml .Values.tls.dnsNames | nindent 4 }}
  privateKey:
    algorithm: ECDSA
    size: 256
    rotationPolicy: Always
  issuerRef:
    group: cert-manager.io
    kind: ClusterIssuer
    name: {{ .Values.tls.issuer }}
{{- end }}
`;

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {{ .Values.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gateway.labels" . | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  gatewayClassName: {{ .Values.className }}
  {{- if or .Values.infrastructure.annotations .Values.infrastructure.labels }}
  infrastructure:
    {{- with .Values.infrastructure.annotations }}
    annotations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.infrastructure.labels }}
    labels:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  {{- end }}
  listeners:
    - name: {{ .Values.listener.name }}
      port: {{ .Values.listener.port }}
      protocol: {{ if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
      {{- with .Values.listener.hostname }}
      hostname: {{ . | quote }}
      {{- end }}
      {{- if .Values.tls.enabled }}
      tls:
        mode: Terminate
        certificateRefs:
          - group: ""
            kind: Secret
            name: {{ .Values.tls.secretName }}
      {{- end }}
      allowedRoutes:
        kinds:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
        namespaces:
          from: {{ .Values.allowedRoutes.from }}
          {{- if eq .Values.allowedRoutes.from "Selector" }}
          selector:
            matchExpressions:
              - key: kubernetes.io/metadata.name
                operator: In
                values:
                  {{- toYaml .Values.allowedRoutes.namespaces | nindent 18 }}
          {{- end }}
    {{- if .Values.acmeListener.enabled }}
    - name: acme-http01
      port: 80
      protocol: HTTP
      {{- with .Values.listener.hostname }}
      hostname: {{ . | quote }}
      {{- end }}
      allowedRoutes:
        kinds:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
        namespaces:
          from: Same
    {{- end }}
`;

export const gatewayChart: PlatformChart = {
  name: 'gateway',
  description: 'The shared inference Gateway (Istio), its listener certificate and cloud load-balancer settings',
  version: PLATFORM_CHART_VERSION,
  appVersion: PLATFORM_CHART_VERSION,
  valuesSchema: object('Values of the gateway chart.', {
    name: dnsLabel('Gateway name; every model HTTPRoute names it as parent.'),
    className: dnsLabel('GatewayClass; istio is created by istiod once the Gateway API CRDs exist.'),
    infrastructure: object('Metadata Istio copies to the Service and Deployment it creates for the Gateway.', {
      annotations: stringMap('Annotations, e.g. the cloud load-balancer settings of the cloud profile.'),
      labels: stringMap('Labels.'),
    }),
    listener: object(
      'The listener model routes attach to.',
      {
        name: dnsLabel('Listener name (HTTPRoute parentRefs sectionName).'),
        port: { type: 'integer', description: 'Listener port.', minimum: 1, maximum: 65535 },
        hostname: { type: 'string', description: 'Host name the listener serves; empty for any.' },
      },
      ['name', 'port'],
    ),
    tls: object('TLS termination on the listener.', {
      enabled: { type: 'boolean', description: 'Serve HTTPS with a cert-manager certificate.' },
      issuer: dnsLabel('ClusterIssuer that signs the listener certificate.'),
      secretName: dnsLabel('Secret the certificate is written to.'),
      dnsNames: { type: 'array', description: 'Names the certificate covers.', items: { type: 'string' } },
    }),
    allowedRoutes: object('Which namespaces may attach HTTPRoutes to the listener.', {
      from: {
        type: 'string',
        description: 'Selector (the namespaces listed), Same (the Gateway namespace only) or All.',
        enum: ['All', 'Same', 'Selector'],
      },
      namespaces: {
        type: 'array',
        description: 'Namespaces allowed when from is Selector (the model namespaces of the environment).',
        items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      },
    }),
    acmeListener: object('Plain-HTTP listener on port 80 for ACME HTTP-01 challenges.', {
      enabled: { type: 'boolean', description: 'Add the listener.' },
    }),
  }),
  defaultValues: {
    name: 'inference-gateway',
    className: 'istio',
    infrastructure: { annotations: {}, labels: {} },
    listener: { name: 'https', port: 443, hostname: '' },
    tls: {
      enabled: true,
      issuer: 'switchyard-ca',
      secretName: 'inference-gateway-tls',
      dnsNames: ['inference-gateway-istio.inference-gateway.svc.cluster.local'],
    },
    allowedRoutes: { from: 'Same', namespaces: [] },
    acmeListener: { enabled: false },
  },
  templates: {
    '_helpers.tpl': labelsHelper('gateway'),
    'certificate.yaml': CERTIFICATE,
    'gateway.yaml': GATEWAY,
  },
  files: {},
  readme: `# gateway

The shared \`Gateway\` every model's HTTPRoute attaches to (the seed's \`inference-gateway\`), served by Istio
(GatewayClass \`istio\`). Istio creates a Deployment and a LoadBalancer Service for it and copies
\`infrastructure.annotations\` to that Service: this is where the cloud profile's load-balancer annotations go
(AWS NLB with IP targets on EKS, Azure health probe path on AKS, regional backend services on GKE).

With \`tls.enabled\`, a cert-manager \`Certificate\` (sync wave 0, before the Gateway) signed by \`tls.issuer\`
supplies the listener's key pair. \`acmeListener.enabled\` adds a port-80 listener for ACME HTTP-01 challenges.

The platform is ready when the Gateway reports \`Programmed=True\` (Argo CD's built-in Gateway health check).
`,
};

export function gatewayValues(settings: PlatformSettings): Record<string, unknown> {
  const gateway = settings.gateway;
  const serviceHost = `${gateway.name}-${gateway.className}.${gateway.namespace}.svc.cluster.local`;
  return {
    name: gateway.name,
    className: gateway.className,
    infrastructure: { annotations: loadBalancerAnnotations(settings.cloud, gateway.exposure), labels: {} },
    listener: { name: gateway.sectionName, port: gateway.port, hostname: gateway.hostname ?? '' },
    tls: {
      enabled: gateway.tls.enabled,
      issuer: gateway.tls.issuer,
      secretName: `${gateway.name}-tls`,
      dnsNames: gateway.hostname === null ? [serviceHost] : [gateway.hostname, serviceHost],
    },
    // Only the environment's model namespaces may attach routes to the shared, public listener.
    allowedRoutes:
      settings.modelNamespaces.length > 0
        ? { from: 'Selector', namespaces: [...settings.modelNamespaces] }
        : { from: 'Same', namespaces: [] },
    acmeListener: { enabled: settings.pki.acme !== null && gateway.tls.issuer === settings.pki.acme.issuer },
  };
}
