import type { PlatformProfile } from '../model/generated/platform.ts';
import {
  findRelease,
  resolveRelease,
  type PlatformInputError,
  type ResolvedRelease,
} from '../platform/releases.ts';
import { describeRange, isInRange, parseVersion } from '../platform/versions.ts';
import {
  DEFAULT_ALERTS,
  defaultPrometheusUrl,
  PLATFORM_SETTING_DEFAULTS as D,
  type PlatformSettings,
  type SharedEndpointModel,
} from '../platform/settings.ts';

function definedEntries(map: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export type PlatformResolution =
  | { readonly ok: true; readonly release: ResolvedRelease }
  | { readonly ok: false; readonly problems: readonly PlatformInputError[] };

/**
 * Resolves the profile's release with its overrides, once per environment, and checks what the schema cannot
 * express (overrides and the router image within the release's compatible ranges).
 */
export function resolvePlatform(profile: PlatformProfile): PlatformResolution {
  const resolution = resolveRelease(profile.release, profile.releaseOverrides ?? {}, '');
  if (resolution.ok) {
    const problems = routerImageProblems(profile);
    return problems.length === 0 ? { ok: true, release: resolution.release } : { ok: false, problems };
  }
  const problems = resolution.errors.map((error) => ({
    ...error,
    // The release id is a plain string at /release; overrides live at /releaseOverrides/<component>.
    pointer:
      error.pointer === '/id' ? '/release' : error.pointer.replace(/^\/overrides\//, '/releaseOverrides/'),
  }));
  return { ok: false, problems };
}

/** The problems of resolvePlatform, for callers that only check. */
export function platformProfileProblems(profile: PlatformProfile): readonly PlatformInputError[] {
  const resolution = resolvePlatform(profile);
  return resolution.ok ? [] : resolution.problems;
}

/** A versioned router image must be one the release works with (a digest pins an exact build and is accepted). */
function routerImageProblems(profile: PlatformProfile): PlatformInputError[] {
  const release = findRelease(profile.release);
  const tag = profile.router.image.tag;
  if (release === undefined || parseVersion(tag) === undefined) return [];
  const pin = release.versions.router;
  if (isInRange(tag, pin.compatible)) return [];
  return [
    {
      pointer: '/router/image/tag',
      message: `router ${tag} is incompatible with platform release ${release.id}: ${pin.because}`,
      expected: `a version ${describeRange(pin.compatible)} or an image digest`,
    },
  ];
}

/** The pki chart's CA ClusterIssuer, which signs gateway, router and vLLM metrics certificates. */
export function caIssuerName(profile: PlatformProfile): string {
  return profile.pki?.caIssuer ?? D.caIssuer;
}

/** The platform settings of one environment, defaults applied; the profile must have passed validation. */
/** The platform settings of one environment, defaults applied, from a profile whose release resolved. */
export function platformSettings(
  environment: string,
  profile: PlatformProfile,
  release: ResolvedRelease,
  modelNamespaces: readonly string[] = [],
  sharedModels: readonly SharedEndpointModel[] = [],
  objectives: readonly { readonly name: string; readonly priority: number }[] = [],
): PlatformSettings {
  const gateway = profile.gateway ?? {};
  const tlsEnabled = gateway.tls?.enabled ?? D.tlsEnabled;
  const caIssuer = caIssuerName(profile);
  const acme = profile.pki?.acme;
  const monitoring = profile.monitoring ?? {};
  const selectorLabels = monitoring.selectorLabels ?? {};
  return {
    environment,
    release,
    cloud: profile.cloud.provider,
    storageClass: profile.cloud.storageClass ?? null,
    argocd: {
      namespace: profile.argocd.namespace ?? D.argocdNamespace,
      repoURL: profile.argocd.repoURL,
      targetRevision: profile.argocd.targetRevision,
      destinationServer: profile.argocd.destinationServer ?? D.destinationServer,
    },
    gateway: {
      name: gateway.name ?? D.gatewayName,
      namespace: gateway.namespace ?? D.gatewayNamespace,
      className: D.gatewayClassName,
      hostname: gateway.hostname ?? null,
      exposure: gateway.exposure ?? D.exposure,
      port: gateway.listener?.port ?? (tlsEnabled ? 443 : 80),
      sectionName: gateway.listener?.sectionName ?? (tlsEnabled ? 'https' : 'http'),
      tls: { enabled: tlsEnabled, issuer: gateway.tls?.issuer ?? caIssuer },
      routerTrustSecret: D.routerTrustSecret,
      identity:
        gateway.identity === undefined
          ? null
          : {
              issuer: gateway.identity.issuer,
              jwksUri: gateway.identity.jwksUri,
              audiences: gateway.identity.audiences ?? [],
              claim: gateway.identity.claim,
              objectives: Object.entries(gateway.identity.objectives)
                .filter((entry): entry is [string, string] => entry[1] !== undefined)
                .sort(([a], [b]) => a.localeCompare(b)),
              required: gateway.identity.required ?? false,
            },
    },
    pki: {
      namespace: D.pkiNamespace,
      selfSignedIssuer: D.selfSignedIssuer,
      caIssuer,
      caCommonName: profile.pki?.caCommonName ?? `Switchyard ${environment} CA`,
      acme:
        acme === undefined
          ? null
          : { issuer: acme.issuer ?? D.acmeIssuer, email: acme.email, server: acme.server },
    },
    monitoring: {
      enabled: monitoring.enabled ?? D.monitoringEnabled,
      namespace: monitoring.namespace ?? D.monitoringNamespace,
      prometheusUrl:
        monitoring.prometheusUrl ?? defaultPrometheusUrl(monitoring.namespace ?? D.monitoringNamespace),
      interval: monitoring.interval ?? D.monitoringInterval,
      installCrds: monitoring.installCrds ?? D.installCrds,
      ruleLabels: definedEntries(selectorLabels),
      dashboardLabels: definedEntries(monitoring.dashboardLabels ?? D.dashboardLabels),
      alerts: { ...DEFAULT_ALERTS, ...(monitoring.alerts ?? {}) },
    },
    components: {
      leaderWorkerSet: profile.components?.leaderWorkerSet ?? D.leaderWorkerSet,
      argoRollouts: profile.components?.argoRollouts ?? D.argoRollouts,
      kserve: profile.components?.kserve ?? D.kserve,
      keda: profile.components?.keda ?? D.keda,
      prometheusAdapter: profile.components?.prometheusAdapter ?? D.prometheusAdapter,
    },
    modelNamespaces: [...new Set(modelNamespaces)].sort(),
    sharedEndpoint: {
      routerImage: profile.router.image,
      models: [...sharedModels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      clientObjectives: clientObjectives(objectives),
    },
  };
}

/** Objective names no model gives a priority above 0: a client may lower its own priority, never raise it. */
function clientObjectives(
  objectives: readonly { readonly name: string; readonly priority: number }[],
): string[] {
  const raising = new Set(objectives.filter((o) => o.priority > 0).map((o) => o.name));
  return [...new Set(objectives.map((o) => o.name))].filter((name) => !raising.has(name)).sort();
}
