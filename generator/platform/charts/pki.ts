import type { PlatformChart } from '../chart.ts';
import type { PlatformSettings } from '../settings.ts';
import { dnsLabel, labelsHelper, object, PLATFORM_CHART_VERSION } from './common.ts';

const CLUSTER_ISSUERS = `{{- /* Root of trust: a self-signed issuer signs only the CA certificate below. */}}
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: {{ .Values.selfSignedIssuer.name }}
  labels:
    {{- include "pki.labels" . | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  selfSigned: {}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ .Values.ca.certificateName }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "pki.labels" . | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  isCA: true
  commonName: {{ .Values.ca.commonName | quote }}
  secretName: {{ .Values.ca.secretName }}
  duration: {{ .Values.ca.duration }}
  renewBefore: {{ .Values.ca.renewBefore }}
  privateKey:
    algorithm: {{ .Values.ca.privateKey.algorithm }}
    size: {{ .Values.ca.privateKey.size }}
    rotationPolicy: Always
  issuerRef:
    group: cert-manager.io
    kind: ClusterIssuer
    name: {{ .Values.selfSignedIssuer.name }}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: {{ .Values.caIssuer.name }}
  labels:
    {{- include "pki.labels" . | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "2"
spec:
  ca:
    secretName: {{ .Values.ca.secretName }}
`;

const ACME_ISSUER = `{{- if .Values.acme.enabled }}
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: {{ .Values.acme.name }}
  labels:
    {{- include "pki.labels" . | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "2"
spec:
  acme:
    email: {{ required "acme.email is required when acme.enabled" .Values.acme.email | quote }}
    server: {{ required "acme.server is required when acme.enabled" .Values.acme.server | quote }}
    privateKeySecretRef:
      name: {{ .Values.acme.name }}-account-key
    solvers:
      - http01:
          gatewayHTTPRoute:
            parentRefs:
              - group: gateway.networking.k8s.io
                kind: Gateway
                name: {{ .Values.acme.gateway.name }}
                namespace: {{ .Values.acme.gateway.namespace }}
{{- end }}
`;

export const pkiChart: PlatformChart = {
  name: 'pki',
  description: 'Cluster PKI: self-signed root ClusterIssuer, CA certificate, CA ClusterIssuer and an optional ACME issuer',
  version: PLATFORM_CHART_VERSION,
  appVersion: PLATFORM_CHART_VERSION,
  valuesSchema: object('Values of the pki chart.', {
    selfSignedIssuer: object('The self-signed ClusterIssuer that signs the CA certificate only.', {
      name: dnsLabel('ClusterIssuer name.'),
    }),
    ca: object('The CA certificate (in the release namespace, which must be cert-manager\'s cluster resource namespace).', {
      certificateName: dnsLabel('Certificate name.'),
      secretName: dnsLabel('Secret holding the CA key pair.'),
      commonName: { type: 'string', description: 'CA subject common name.', minLength: 1 },
      duration: { type: 'string', description: 'CA lifetime (Go duration).', pattern: '^[0-9]+h$' },
      renewBefore: { type: 'string', description: 'Renew this long before expiry (Go duration).', pattern: '^[0-9]+h$' },
      privateKey: object('CA private key.', {
        algorithm: { type: 'string', description: 'Key algorithm.', enum: ['RSA', 'ECDSA', 'Ed25519'] },
        size: { type: 'integer', description: 'Key size (RSA bits or ECDSA curve size).', minimum: 256 },
      }),
    }),
    caIssuer: object('The CA ClusterIssuer that signs gateway, router and vLLM metrics certificates.', {
      name: dnsLabel('ClusterIssuer name.'),
    }),
    acme: object(
      'Optional ACME ClusterIssuer for the public listener (HTTP-01 through the shared Gateway).',
      {
        enabled: { type: 'boolean', description: 'Create the ACME ClusterIssuer.' },
        name: dnsLabel('ClusterIssuer name.'),
        email: { type: 'string', description: 'ACME account e-mail.' },
        server: { type: 'string', description: 'ACME directory URL.' },
        gateway: object('Gateway that serves the HTTP-01 challenges.', {
          name: dnsLabel('Gateway name.'),
          namespace: dnsLabel('Gateway namespace.'),
        }),
      },
      ['enabled', 'name', 'gateway'],
    ),
  }),
  defaultValues: {
    selfSignedIssuer: { name: 'switchyard-selfsigned' },
    ca: {
      certificateName: 'switchyard-ca',
      secretName: 'switchyard-ca',
      commonName: 'Switchyard CA',
      duration: '87600h',
      renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256 },
    },
    caIssuer: { name: 'switchyard-ca' },
    acme: {
      enabled: false,
      name: 'acme',
      email: '',
      server: '',
      gateway: { name: 'inference-gateway', namespace: 'inference-gateway' },
    },
  },
  templates: {
    '_helpers.tpl': labelsHelper('pki'),
    'clusterissuers.yaml': CLUSTER_ISSUERS,
    'acme-clusterissuer.yaml': ACME_ISSUER,
  },
  files: {},
  readme: `# pki

Cluster PKI for Switchyard, installed after cert-manager (sync wave -25):

1. \`ClusterIssuer\` \`selfSignedIssuer.name\` (self-signed) signs only
2. the CA \`Certificate\` \`ca.certificateName\` (secret \`ca.secretName\`, in the release namespace, which must be
   cert-manager's cluster resource namespace, \`cert-manager\` by default), which backs
3. the CA \`ClusterIssuer\` \`caIssuer.name\`, used for the gateway listener, the router and vLLM metrics TLS.

With \`acme.enabled\`, an ACME \`ClusterIssuer\` solves HTTP-01 challenges through the shared Gateway, for a
publicly trusted listener certificate.

Values are documented in \`values.yaml\` and checked by \`values.schema.json\`; \`values-<env>.yaml\` holds what
each environment's platform profile sets.
`,
};

export function pkiValues(settings: PlatformSettings): Record<string, unknown> {
  const acme = settings.pki.acme;
  return {
    selfSignedIssuer: { name: settings.pki.selfSignedIssuer },
    ca: {
      certificateName: settings.pki.caIssuer,
      secretName: settings.pki.caIssuer,
      commonName: settings.pki.caCommonName,
      duration: '87600h',
      renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256 },
    },
    caIssuer: { name: settings.pki.caIssuer },
    acme: {
      enabled: acme !== null,
      name: acme?.issuer ?? 'acme',
      email: acme?.email ?? '',
      server: acme?.server ?? '',
      gateway: { name: settings.gateway.name, namespace: settings.gateway.namespace },
    },
  };
}
