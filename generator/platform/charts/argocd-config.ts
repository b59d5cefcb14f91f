import type { PlatformChart } from '../chart.ts';
import { HEALTH_CHECKS } from '../health-checks.ts';
import type { PlatformSettings } from '../settings.ts';
import { dnsLabel, object, PLATFORM_CHART_VERSION } from './common.ts';
import { toStableYaml } from '../../render/yaml.ts';

/** Diff rules for fields other controllers own (argocd-cm `resource.customizations.ignoreDifferences.*`). */
export const IGNORE_DIFFERENCES: Readonly<Record<string, { jqPathExpressions: readonly string[] }>> = {
  // cert-manager's cainjector and istiod write CA bundles into webhooks; istiod flips failurePolicy.
  'admissionregistration.k8s.io_MutatingWebhookConfiguration': {
    jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
  },
  'admissionregistration.k8s.io_ValidatingWebhookConfiguration': {
    jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle', '.webhooks[]?.failurePolicy'],
  },
  // Conversion webhooks of KServe's and LWS' CRDs get their CA bundle injected too.
  'apiextensions.k8s.io_CustomResourceDefinition': {
    jqPathExpressions: ['.spec.conversion.webhook.clientConfig.caBundle'],
  },
};

/** Argo CD's default resource exclusions, restated because setting the key replaces them, plus ACME children. */
export const RESOURCE_EXCLUSIONS = [
  { apiGroups: ['', 'discovery.k8s.io'], kinds: ['Endpoints', 'EndpointSlice'], clusters: ['*'] },
  { apiGroups: ['coordination.k8s.io'], kinds: ['Lease'], clusters: ['*'] },
  {
    apiGroups: ['authentication.k8s.io', 'authorization.k8s.io'],
    kinds: [
      'SelfSubjectReview',
      'TokenReview',
      'LocalSubjectAccessReview',
      'SelfSubjectAccessReview',
      'SelfSubjectRulesReview',
      'SubjectAccessReview',
    ],
    clusters: ['*'],
  },
  { apiGroups: ['certificates.k8s.io'], kinds: ['CertificateSigningRequest'], clusters: ['*'] },
  { apiGroups: ['cert-manager.io'], kinds: ['CertificateRequest'], clusters: ['*'] },
  { apiGroups: ['acme.cert-manager.io'], kinds: ['Challenge', 'Order'], clusters: ['*'] },
];

const KNOWN_TYPE_FIELDS = {
  // Lets Argo CD normalise resource quantities inside a Rollout's pod template like a Deployment's.
  'argoproj.io_Rollout': [{ field: 'spec.template.spec', type: 'core/v1/PodSpec' }],
};

const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.configMapName }}
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/name: {{ .Values.configMapName }}
    app.kubernetes.io/part-of: argocd
  annotations:
    # A partial object applied server-side: only these keys are owned here, the rest of argocd-cm stays
    # with the Argo CD installation, and the ConfigMap survives pruning and deletion of this Application.
    argocd.argoproj.io/sync-options: ServerSideApply=true,Prune=false,Delete=false
data:
  {{- range $path, $_ := .Files.Glob "files/health/*.lua" }}
  resource.customizations.health.{{ base $path | trimSuffix ".lua" }}: |
    {{- $.Files.Get $path | trimSuffix "\\n" | nindent 4 }}
  {{- end }}
  {{- range $path, $_ := .Files.Glob "files/ignore-differences/*.yaml" }}
  resource.customizations.ignoreDifferences.{{ base $path | trimSuffix ".yaml" }}: |
    {{- $.Files.Get $path | trimSuffix "\\n" | nindent 4 }}
  {{- end }}
  {{- range $path, $_ := .Files.Glob "files/known-type-fields/*.yaml" }}
  resource.customizations.knownTypeFields.{{ base $path | trimSuffix ".yaml" }}: |
    {{- $.Files.Get $path | trimSuffix "\\n" | nindent 4 }}
  {{- end }}
  {{- if .Values.resourceExclusions }}
  resource.exclusions: |
    {{- .Files.Get "files/resource-exclusions.yaml" | trimSuffix "\\n" | nindent 4 }}
  {{- end }}
`;

function chartFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const check of HEALTH_CHECKS) files[`files/health/${check.key}.lua`] = check.lua;
  for (const [key, rule] of Object.entries(IGNORE_DIFFERENCES)) {
    files[`files/ignore-differences/${key}.yaml`] = toStableYaml(rule);
  }
  for (const [key, fields] of Object.entries(KNOWN_TYPE_FIELDS)) {
    files[`files/known-type-fields/${key}.yaml`] = toStableYaml(fields);
  }
  files['files/resource-exclusions.yaml'] = toStableYaml(RESOURCE_EXCLUSIONS);
  return files;
}

export const argocdConfigChart: PlatformChart = {
  name: 'argocd-config',
  description: 'Argo CD settings the platform relies on: Lua health checks, diff rules and resource exclusions',
  version: PLATFORM_CHART_VERSION,
  appVersion: PLATFORM_CHART_VERSION,
  valuesSchema: object('Values of the argocd-config chart.', {
    configMapName: dnsLabel('Argo CD settings ConfigMap to patch (argocd-cm).'),
    resourceExclusions: {
      type: 'boolean',
      description: 'Own resource.exclusions (replaces the installation default with its restated list).',
    },
  }),
  defaultValues: { configMapName: 'argocd-cm', resourceExclusions: true },
  templates: { 'argocd-cm.yaml': CONFIG_MAP },
  files: chartFiles(),
  readme: `# argocd-config

Keys of Argo CD's \`argocd-cm\` that Switchyard needs, delivered as a partial ConfigMap applied server-side
(\`ServerSideApply=true\`): Argo CD's own installation keeps every other key, and \`Prune=false,Delete=false\`
keep the ConfigMap when this Application is pruned or deleted. It syncs first (wave -50).

- \`resource.customizations.health.*\` (files/health/*.lua):
${HEALTH_CHECKS.map((check) => `  - \`${check.key}\`: ${check.description}`).join('\n')}

  The Application check is what makes the app-of-apps wait between waves of child Applications. Every
  check reports Progressing while a resource starts normally and Degraded only for terminal failures.
- \`resource.customizations.ignoreDifferences.*\`: webhook CA bundles and failure policies, CRD conversion
  CA bundles (written by cert-manager's cainjector and istiod).
- \`resource.customizations.knownTypeFields.argoproj.io_Rollout\`: pod template of Rollouts.
- \`resource.exclusions\`: Argo CD's defaults restated, plus ACME Orders and Challenges.

If Argo CD is installed with its Helm chart, the same keys can go into its \`configs.cm\` values instead.
`,
};

export function argocdConfigValues(_settings: PlatformSettings): Record<string, unknown> {
  return { configMapName: 'argocd-cm', resourceExclusions: true };
}
