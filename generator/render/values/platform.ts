// Values of the platform charts (charts/platform/<chart>) for one environment, from its normalized platform.
// Each function returns the chart's complete values; the written file holds only what differs from the
// chart's defaults.
import { loadBalancerAnnotations } from '../../platform/clouds.ts';
import { ISTIO_CNI_NAMESPACE } from '../../platform/components.ts';
import { IDENTITY_HEADER, type PlatformSettings } from '../../platform/settings.ts';

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
    // Only the environment's model namespaces (and the gateway's own, for the shared endpoint's /v1/models
    // route) may attach routes to the shared, public listener.
    // The shared endpoint's /v1/models route lives in the gateway namespace.
    allowedRoutes:
      settings.modelNamespaces.length > 0
        ? {
            from: 'Selector',
            namespaces: [...new Set([...settings.modelNamespaces, gateway.namespace])].sort(),
          }
        : { from: 'Same', namespaces: [] },
    acmeListener: { enabled: settings.pki.acme !== null && gateway.tls.issuer === settings.pki.acme.issuer },
    routerTrust: { issuer: settings.pki.caIssuer, secretName: gateway.routerTrustSecret },
    identity: {
      enabled: gateway.identity !== null,
      issuer: gateway.identity?.issuer ?? '',
      jwksUri: gateway.identity?.jwksUri ?? '',
      audiences: [...(gateway.identity?.audiences ?? [])],
      claim: gateway.identity?.claim ?? '',
      header: IDENTITY_HEADER,
      required: gateway.identity?.required ?? false,
    },
    sharedEndpoint: {
      enabled: settings.sharedEndpoint.models.length > 0,
      image: { ...settings.sharedEndpoint.routerImage },
      replicas: 2,
      models: settings.sharedEndpoint.models.map((model) => ({
        name: model.name,
        aliases: [...model.aliases],
        adapters: [...model.adapters],
      })),
      clientObjectives: [...settings.sharedEndpoint.clientObjectives],
    },
  };
}

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

export function argocdConfigValues(_settings: PlatformSettings): Record<string, unknown> {
  return { configMapName: 'argocd-cm', resourceExclusions: true };
}

export function istioControlPlaneValues(settings: PlatformSettings): Record<string, unknown> {
  return {
    version: `v${settings.release.versions.istio}`,
    namespace: 'istio-system',
    cniNamespace: ISTIO_CNI_NAMESPACE,
    pilotEnv: { ENABLE_GATEWAY_API_INFERENCE_EXTENSION: 'true' },
  };
}

export function kservePresetsValues(settings: PlatformSettings): Record<string, unknown> {
  return { apiVersion: settings.release.llmInferenceServiceApiVersion };
}

/** Our platform charts by name, with the function that derives an environment's values. */
export const platformChartValues: Readonly<
  Record<string, (settings: PlatformSettings) => Record<string, unknown>>
> = {
  'argocd-config': argocdConfigValues,
  gateway: gatewayValues,
  'istio-control-plane': istioControlPlaneValues,
  'kserve-presets': kservePresetsValues,
  monitoring: monitoringValues,
  pki: pkiValues,
};
