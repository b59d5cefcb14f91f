import type { CloudId, GatewayExposure } from './clouds.ts';
import type { ResolvedRelease } from './releases.ts';

/** Alert thresholds of the monitoring chart's PrometheusRule. */
export interface AlertThresholds {
  readonly ttftP95Seconds: number;
  readonly queueDepth: number;
  readonly kvCacheUsage: number;
  readonly routerErrorRatio: number;
}

/** Everything the platform renderers need for one environment, defaults applied. */
export interface PlatformSettings {
  readonly environment: string;
  readonly release: ResolvedRelease;
  readonly cloud: CloudId;
  readonly storageClass: string | null;
  readonly argocd: {
    readonly namespace: string;
    readonly repoURL: string;
    readonly targetRevision: string;
    readonly destinationServer: string;
  };
  readonly gateway: {
    readonly name: string;
    readonly namespace: string;
    readonly className: string;
    readonly hostname: string | null;
    readonly exposure: GatewayExposure;
    readonly port: number;
    readonly sectionName: string;
    readonly tls: { readonly enabled: boolean; readonly issuer: string };
    /** Secret in the gateway namespace whose ca.crt the gateway verifies each router's certificate against. */
    readonly routerTrustSecret: string;
    /** Priority from the caller's verified token; null: from the objective header alone. */
    readonly identity: GatewayIdentity | null;
  };
  readonly pki: {
    readonly namespace: string;
    readonly selfSignedIssuer: string;
    readonly caIssuer: string;
    readonly caCommonName: string;
    readonly acme: { readonly issuer: string; readonly email: string; readonly server: string } | null;
  };
  readonly monitoring: {
    readonly enabled: boolean;
    readonly namespace: string;
    readonly interval: string;
    readonly installCrds: boolean;
    /** The Prometheus that analyses and autoscalers query. */
    readonly prometheusUrl: string;
    readonly ruleLabels: Readonly<Record<string, string>>;
    readonly dashboardLabels: Readonly<Record<string, string>>;
    readonly alerts: AlertThresholds;
  };
  readonly components: {
    readonly leaderWorkerSet: boolean;
    readonly argoRollouts: boolean;
    readonly kserve: boolean;
    readonly keda: boolean;
    readonly prometheusAdapter: boolean;
  };
  /** Namespaces the models project may deploy to (for the router's and models' NetworkPolicies, scraping). */
  readonly modelNamespaces: readonly string[];
  /** The environment's shared OpenAI endpoint: its body-based router and every name each model answers to. */
  readonly sharedEndpoint: {
    readonly routerImage: { readonly repository: string; readonly tag: string };
    readonly models: readonly SharedEndpointModel[];
    /** Objectives a client may name itself at the gateway: priority at most 0 in every model that has them. */
    readonly clientObjectives: readonly string[];
  };
}

/** The gateway's token validation and the objective each value of one claim maps to. */
export interface GatewayIdentity {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audiences: readonly string[];
  readonly claim: string;
  /** Claim value → InferenceObjective name, sorted by claim value. */
  readonly objectives: readonly (readonly [string, string])[];
  /** Refuse requests without a valid token. */
  readonly required: boolean;
}

/**
 * The header the gateway writes the verified claim into. Clients cannot set it: it starts with x-gateway-, which
 * the gateway's first filter (the shared endpoint's body-based router) strips from every request.
 */
export const IDENTITY_HEADER = 'x-gateway-identity-class';

/** A model on the shared endpoint: its served name (the routing header's value), aliases and adapters. */
export interface SharedEndpointModel {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly adapters: readonly string[];
}

export const DEFAULT_ALERTS: AlertThresholds = {
  ttftP95Seconds: 2,
  queueDepth: 10,
  kvCacheUsage: 0.9,
  routerErrorRatio: 0.02,
};

/** Defaults of the platform sections this module reads (mirrored by `default` keywords in the schema). */
export const PLATFORM_SETTING_DEFAULTS = {
  gatewayName: 'inference-gateway',
  gatewayNamespace: 'inference-gateway',
  gatewayClassName: 'istio',
  exposure: 'external',
  tlsEnabled: true,
  caIssuer: 'switchyard-ca',
  selfSignedIssuer: 'switchyard-selfsigned',
  acmeIssuer: 'acme',
  routerTrustSecret: 'switchyard-router-ca',
  pkiNamespace: 'cert-manager',
  monitoringEnabled: true,
  monitoringNamespace: 'monitoring',
  monitoringInterval: '30s',
  installCrds: false,
  dashboardLabels: { grafana_dashboard: '1' },
  leaderWorkerSet: true,
  argoRollouts: true,
  kserve: false,
  keda: false,
  prometheusAdapter: false,
  argocdNamespace: 'argocd',
  destinationServer: 'https://kubernetes.default.svc',
} as const;

/** The Prometheus Operator's service for the Prometheus in a namespace. */
export function defaultPrometheusUrl(namespace: string): string {
  return `http://prometheus-operated.${namespace}.svc:9090`;
}
