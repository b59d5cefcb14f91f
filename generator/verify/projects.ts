// Argo CD AppProject permissions: an Application whose source repository, destination or rendered kinds its
// project does not permit fails at sync time, so these are checked offline too.
import { isJsonObject, type FieldError, type JsonObject } from './openapi-schema.ts';

export interface ProjectRules {
  sourceRepos: string[];
  destinations: { server?: string; name?: string; namespace?: string }[];
  clusterWhitelist: GroupKind[] | undefined;
  clusterBlacklist: GroupKind[];
  namespaceWhitelist: GroupKind[] | undefined;
  namespaceBlacklist: GroupKind[];
}

interface GroupKind {
  group: string;
  kind: string;
}

function groupKinds(value: unknown): GroupKind[] | undefined {
  if (!Array.isArray(value)) {
    return undefined;
  }
  return (value as unknown[]).filter(isJsonObject).map((entry) => ({
    group: typeof entry.group === 'string' ? entry.group : '',
    kind: typeof entry.kind === 'string' ? entry.kind : '',
  }));
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? (value as unknown[]).filter((entry) => typeof entry === 'string') : [];
}

export function projectRules(project: JsonObject): ProjectRules {
  const spec = isJsonObject(project.spec) ? project.spec : {};
  const destinations = Array.isArray(spec.destinations)
    ? (spec.destinations as unknown[]).filter(isJsonObject)
    : [];
  return {
    sourceRepos: strings(spec.sourceRepos),
    destinations: destinations.map((destination) => ({
      ...(typeof destination.server === 'string' ? { server: destination.server } : {}),
      ...(typeof destination.name === 'string' ? { name: destination.name } : {}),
      ...(typeof destination.namespace === 'string' ? { namespace: destination.namespace } : {}),
    })),
    clusterWhitelist: groupKinds(spec.clusterResourceWhitelist),
    clusterBlacklist: groupKinds(spec.clusterResourceBlacklist) ?? [],
    namespaceWhitelist: groupKinds(spec.namespaceResourceWhitelist),
    namespaceBlacklist: groupKinds(spec.namespaceResourceBlacklist) ?? [],
  };
}

const globCache = new Map<string, RegExp>();

/** Argo CD's glob patterns: `*` matches any run of characters, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  let regex = globCache.get(pattern);
  if (regex === undefined) {
    const source = pattern
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.+()|[\]{}]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${source}$`);
    globCache.set(pattern, regex);
  }
  return regex.test(value);
}

/** Positive patterns allow, `!`-prefixed ones deny; a value is permitted when allowed and not denied. */
function permitted(patterns: readonly string[], value: string): boolean {
  const denied = patterns.some((pattern) => pattern.startsWith('!') && globMatch(pattern.slice(1), value));
  return !denied && patterns.some((pattern) => !pattern.startsWith('!') && globMatch(pattern, value));
}

function listed(entries: readonly GroupKind[], group: string, kind: string): boolean {
  return entries.some((entry) => globMatch(entry.group, group) && globMatch(entry.kind, kind));
}

/** Problems with an Application's own source repositories and destination under its project. */
export function applicationPermissionErrors(
  application: JsonObject,
  project: ProjectRules,
  name: string,
): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isJsonObject(application.spec) ? application.spec : {};
  const sources = Array.isArray(spec.sources)
    ? (spec.sources as unknown[])
        .filter(isJsonObject)
        .map((source, index) => ({ source, path: `spec.sources[${String(index)}]` }))
    : isJsonObject(spec.source)
      ? [{ source: spec.source, path: 'spec.source' }]
      : [];
  for (const { source, path } of sources) {
    const repoURL = typeof source.repoURL === 'string' ? source.repoURL : '';
    if (!permitted(project.sourceRepos, repoURL)) {
      errors.push({
        path: `${path}.repoURL`,
        message: `AppProject ${name} does not permit source repository ${repoURL}`,
      });
    }
  }
  const destination = isJsonObject(spec.destination) ? spec.destination : {};
  const server = typeof destination.server === 'string' ? destination.server : undefined;
  const clusterName = typeof destination.name === 'string' ? destination.name : undefined;
  const namespace = typeof destination.namespace === 'string' ? destination.namespace : '';
  const allowed = project.destinations.some((entry) => {
    const clusterOk =
      (server !== undefined && entry.server !== undefined && globMatch(entry.server, server)) ||
      (clusterName !== undefined && entry.name !== undefined && globMatch(entry.name, clusterName));
    return clusterOk && globMatch(entry.namespace ?? '*', namespace);
  });
  if (!allowed) {
    const where = `${server ?? clusterName ?? '(no cluster)'} namespace ${namespace === '' ? '(none)' : namespace}`;
    errors.push({
      path: 'spec.destination',
      message: `AppProject ${name} does not permit destination ${where}`,
    });
  }
  return errors;
}

/** A problem when the project does not let its Applications manage objects of this group and kind. */
export function resourcePermissionError(
  project: ProjectRules,
  name: string,
  group: string,
  kind: string,
  clusterScoped: boolean,
): string | undefined {
  const label = `${group === '' ? 'core' : group}/${kind}`;
  if (clusterScoped) {
    const whitelisted =
      project.clusterWhitelist !== undefined && listed(project.clusterWhitelist, group, kind);
    if (!whitelisted || listed(project.clusterBlacklist, group, kind)) {
      return `AppProject ${name} does not permit cluster-scoped ${label}`;
    }
    return undefined;
  }
  const whitelist = project.namespaceWhitelist;
  const whitelisted = whitelist === undefined || whitelist.length === 0 || listed(whitelist, group, kind);
  if (!whitelisted || listed(project.namespaceBlacklist, group, kind)) {
    return `AppProject ${name} does not permit namespaced ${label}`;
  }
  return undefined;
}

const clusterScopedKinds = new Set([
  ' Namespace',
  ' Node',
  ' PersistentVolume',
  'rbac.authorization.k8s.io ClusterRole',
  'rbac.authorization.k8s.io ClusterRoleBinding',
  'apiextensions.k8s.io CustomResourceDefinition',
  'apiregistration.k8s.io APIService',
  'admissionregistration.k8s.io MutatingWebhookConfiguration',
  'admissionregistration.k8s.io ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io ValidatingAdmissionPolicyBinding',
  'storage.k8s.io StorageClass',
  'storage.k8s.io CSIDriver',
  'storage.k8s.io VolumeAttachment',
  'scheduling.k8s.io PriorityClass',
  'node.k8s.io RuntimeClass',
  'networking.k8s.io IngressClass',
  'certificates.k8s.io CertificateSigningRequest',
  'flowcontrol.apiserver.k8s.io FlowSchema',
  'flowcontrol.apiserver.k8s.io PriorityLevelConfiguration',
  'gateway.networking.k8s.io GatewayClass',
  'cert-manager.io ClusterIssuer',
  'argoproj.io ClusterAnalysisTemplate',
]);

/** Whether a kind is cluster-scoped: from the CRDs when given, else from the well-known kinds. */
export function isClusterScoped(group: string, kind: string, crdScope: string | undefined): boolean {
  if (crdScope !== undefined) {
    return crdScope === 'Cluster';
  }
  return clusterScopedKinds.has(`${group} ${kind}`);
}
