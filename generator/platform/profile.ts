import type { PlatformProfile } from '../model/generated/platform.ts';
import { findRelease, resolveRelease, type PlatformInputError } from './releases.ts';
import { describeRange, isInRange, parseVersion } from './versions.ts';
import { DEFAULT_ALERTS, PLATFORM_SETTING_DEFAULTS as D, type PlatformSettings } from './settings.ts';

function definedEntries(map: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Checks of the platform profile that its schema cannot express (release compatibility). */
export function platformProfileProblems(profile: PlatformProfile): PlatformInputError[] {
  const resolution = resolveRelease(profile.release, profile.releaseOverrides ?? {}, '');
  if (resolution.ok) return routerImageProblems(profile);
  return resolution.errors.map((error) => ({
    ...error,
    // The release id is a plain string at /release; overrides live at /releaseOverrides/<component>.
    pointer:
      error.pointer === '/id' ? '/release' : error.pointer.replace(/^\/overrides\//, '/releaseOverrides/'),
  }));
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
export function platformSettings(
  environment: string,
  profile: PlatformProfile,
  modelNamespaces: readonly string[] = [],
): PlatformSettings {
  const resolution = resolveRelease(profile.release, profile.releaseOverrides ?? {}, '');
  if (!resolution.ok) {
    throw new Error(
      `platform profile of ${environment} was not validated: ${resolution.errors.map((e) => e.message).join('; ')}`,
    );
  }
  const gateway = profile.gateway ?? {};
  const tlsEnabled = gateway.tls?.enabled ?? D.tlsEnabled;
  const caIssuer = caIssuerName(profile);
  const acme = profile.pki?.acme;
  const monitoring = profile.monitoring ?? {};
  const selectorLabels = monitoring.selectorLabels ?? {};
  return {
    environment,
    release: resolution.release,
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
    },
    modelNamespaces: [...new Set(modelNamespaces)].sort(),
  };
}
