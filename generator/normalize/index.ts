// Validates loaded inputs against the schemas, checks what the schemas cannot express, and derives the
// normalized environments. Every problem is collected; nothing is returned when any exists.
import { toPointer, type InputProblem } from '../errors.ts';
import type { LoadedEnvironment, LoadedModel } from '../load/environments.ts';
import { locateIn } from '../load/layers.ts';
import type { ModelSpec } from '../model/generated/model.ts';
import type { PlatformProfile } from '../model/generated/platform.ts';
import { validators } from '../validate/schemas.ts';
import {
  CLOUD_PROFILES,
  cloudAcceleratorPlacement,
  DEFAULT_GPUS_PER_NODE,
  supportedAccelerators,
} from '../platform/clouds.ts';
import { PLATFORM_SETTING_DEFAULTS } from '../platform/settings.ts';
import { platformComponents } from '../platform/components.ts';
import { caIssuerName, platformSettings, resolvePlatform } from './platform.ts';
import type { ResolvedRelease } from '../platform/releases.ts';
import { schemaProblems } from '../validate/inputs.ts';
import { decodeVllmPort, kvEventsPort, modelDefaults, startupProbePeriodSeconds } from './defaults.ts';
import { objectName } from './names.ts';
import { reservedNames, type ReservedNames } from './reserved.ts';
import { routerConfig, type RouterProfileName } from './router-config.ts';
import type {
  ModelSource,
  NormalizedEnvironment,
  NormalizedModel,
  NormalizedPlatform,
  NormalizedVersionSplit,
} from './types.ts';
import { normalizeRollout } from './rollout.ts';
import { normalizeVersions } from './versions.ts';
import type { SharedEndpointModel } from '../platform/settings.ts';
import { normalizeAutoscaling } from './autoscaling.ts';
import { imageVolumeProblem } from './image-volumes.ts';
import { KSERVE_HF_TOKEN_KEY, kserveModelUri, kserveProblems, kserveVllmArgs } from './kserve.ts';
import { planDisaggregation } from './disaggregation.ts';
import { replicaTopology, type NodeShape } from './topology.ts';
import { PD_SIDECAR_REPOSITORY } from '../platform/releases.ts';
import { conflictingFlag, derivedVllmFlags, modelArgument, modelMountPath, vllmArgs } from './vllm-args.ts';

export type NormalizeResult =
  { ok: true; environments: NormalizedEnvironment[] } | { ok: false; problems: InputProblem[] };

export function normalizeEnvironments(loaded: readonly LoadedEnvironment[]): NormalizeResult {
  const problems: InputProblem[] = [];
  const environments: NormalizedEnvironment[] = [];
  const { model: validateModel, platform: validatePlatform } = validators();
  for (const env of loaded) {
    if (!validatePlatform(env.platform.data)) {
      problems.push(...schemaProblems(env.platform, validatePlatform.errors ?? []));
      for (const model of env.models) {
        if (!validateModel(model.input.data)) {
          problems.push(...schemaProblems(model.input, validateModel.errors ?? []));
        }
      }
      continue;
    }
    const resolution = resolvePlatform(env.platform.data);
    for (const problem of resolution.ok ? [] : resolution.problems) {
      const segments = problem.pointer.split('/').slice(1);
      problems.push({
        ...locateIn(env.platform, segments),
        pointer: problem.pointer,
        message: `${problem.message}; expected ${problem.expected}`,
      });
    }
    const platform = platformBasis(env.platform.data, resolution.ok ? resolution.release : undefined);
    const reserved = resolution.ok
      ? environmentReservedNames(env.name, env.platform.data, resolution.release)
      : undefined;
    const models: NormalizedModel[] = [];
    for (const model of env.models) {
      if (!validateModel(model.input.data)) {
        problems.push(...schemaProblems(model.input, validateModel.errors ?? []));
        continue;
      }
      const result = normalizeModel(env.name, platform, model, model.input.data, reserved);
      if (result.ok) {
        models.push(result.model);
      } else {
        problems.push(...result.problems);
      }
    }
    models.sort((a, b) => a.name.localeCompare(b.name));
    problems.push(...objectiveNameClashes(env.models, models));
    problems.push(...servedNameClashes(env.models, models));
    problems.push(...poolNameClashes(env.models, models));
    problems.push(...identityObjectiveProblems(env, env.platform.data, models));
    problems.push(...servingProblems(env, env.platform.data));
    if (!resolution.ok) {
      continue;
    }
    environments.push({
      name: env.name,
      platform: normalizePlatform(
        env.name,
        env.platform.data,
        resolution.release,
        models.map((model) => model.namespace),
        models.map((model) => ({
          name: model.servedName,
          aliases: model.aliases,
          adapters: model.lora?.adapters.map((adapter) => adapter.name) ?? [],
        })),
        models.flatMap((model) => model.objectives),
      ),
      models,
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, environments };
}

/** What this environment's other objects already use; model namespaces do not change the platform's components. */
function environmentReservedNames(
  environment: string,
  profile: PlatformProfile,
  release: ResolvedRelease,
): ReservedNames {
  const settings = platformSettings(environment, profile, release);
  return reservedNames(settings, platformComponents(settings));
}

/** The profile-level facts models need, before the environment's model namespaces are known. */
interface PlatformBasis {
  readonly profile: PlatformProfile;
  /** ReadWriteMany storage for shared model caches: the profile's storage class, else the cloud's; null: none. */
  readonly sharedStorageClass: string | null;
  readonly cloud: PlatformProfile['cloud']['provider'];
  readonly routerImage: NormalizedPlatform['routerImage'];
  readonly vllmImage: NormalizedPlatform['vllmImage'];
  readonly caIssuer: string;
  /** The resolved release; undefined when the profile's release did not resolve (its problems are reported). */
  readonly release: ResolvedRelease | undefined;
}

function pdSidecarImage(release: ResolvedRelease | undefined): NormalizedPlatform['pdSidecarImage'] {
  return { repository: PD_SIDECAR_REPOSITORY, tag: release?.versions.pdSidecar ?? '' };
}

function platformBasis(profile: PlatformProfile, release: ResolvedRelease | undefined): PlatformBasis {
  return {
    profile,
    sharedStorageClass:
      profile.cloud.storageClass ?? CLOUD_PROFILES[profile.cloud.provider].storageClasses.sharedModelCache,
    cloud: profile.cloud.provider,
    routerImage: profile.router.image,
    vllmImage: profile.vllm.image,
    caIssuer: caIssuerName(profile),
    release,
  };
}

export function normalizePlatform(
  environment: string,
  profile: PlatformProfile,
  release: ResolvedRelease,
  modelNamespaces: readonly string[],
  sharedModels: readonly SharedEndpointModel[],
  objectives: readonly { readonly name: string; readonly priority: number }[],
): NormalizedPlatform {
  const settings = platformSettings(environment, profile, release, modelNamespaces, sharedModels, objectives);
  return {
    ...settings,
    profile,
    routerImage: profile.router.image,
    vllmImage: profile.vllm.image,
    pdSidecarImage: pdSidecarImage(release),
    routeSectionName: profile.gateway?.listener?.sectionName,
    installed: platformComponents(settings),
  };
}

type ModelResult = { ok: true; model: NormalizedModel } | { ok: false; problems: InputProblem[] };

function normalizeModel(
  environment: string,
  platform: PlatformBasis,
  loaded: LoadedModel,
  spec: ModelSpec,
  reserved: ReservedNames | undefined,
): ModelResult {
  const input = loaded.input;
  const platformFile = `environments/${environment}/platform.yaml`;
  const problems: InputProblem[] = [];
  const problem = (path: readonly string[], message: string, atKey = false): void => {
    problems.push({ ...locateIn(input, path, atKey), pointer: toPointer(path), message });
  };

  const nameTaken = reserved?.model(spec.name);
  if (nameTaken !== undefined) {
    problem(
      ['name'],
      `expected a model name this environment does not use already: ${nameTaken}, got "${spec.name}"`,
    );
  }
  const namespaceTaken = reserved?.namespace(spec.namespace);
  if (namespaceTaken !== undefined) {
    problem(['namespace'], `expected a namespace of models only, not "${spec.namespace}": ${namespaceTaken}`);
  }

  if (spec.name !== loaded.fileStem) {
    problem(['name'], `expected "${loaded.fileStem}" (the file name without .yaml), got "${spec.name}"`);
  }

  const parsedSource = parseSource(spec.model.uri);
  const revision = spec.model.revision;
  const source: ModelSource =
    parsedSource.kind === 'hf' && revision !== undefined ? { ...parsedSource, revision } : parsedSource;
  if (revision !== undefined && source.kind !== 'hf') {
    problem(
      ['model', 'revision'],
      `expected no revision for a ${source.kind}:// model (revision applies to hf:// only)`,
    );
  }

  // The platform profile may define or override an accelerator; otherwise the cloud profile places it.
  const cloudPlacement = cloudAcceleratorPlacement(platform.cloud, spec.accelerator.type);
  const acceleratorProfile = platform.profile.accelerators?.[spec.accelerator.type] ?? cloudPlacement;
  if (acceleratorProfile === undefined) {
    const known = [
      ...new Set([
        ...Object.keys(platform.profile.accelerators ?? {}),
        ...supportedAccelerators(platform.cloud),
      ]),
    ];
    problem(
      ['accelerator', 'type'],
      `expected an accelerator type of the ${platform.cloud} cloud profile or defined in ${platformFile} (one of: ${known.join(', ') || 'none defined'}), got "${spec.accelerator.type}"`,
    );
  }

  const tensor = spec.parallelism?.tensor ?? modelDefaults.tensor;
  const pipeline = spec.parallelism?.pipeline ?? modelDefaults.pipeline;
  const data = spec.parallelism?.data ?? modelDefaults.data;
  const dataLocal = spec.parallelism?.dataLocal ?? data;
  const expert = spec.parallelism?.expert ?? modelDefaults.expert;
  const nodeShape: NodeShape = {
    type: spec.accelerator.type,
    gpusPerNode: acceleratorProfile?.gpusPerNode ?? cloudPlacement?.gpusPerNode ?? DEFAULT_GPUS_PER_NODE,
    leaderWorkerSet:
      platform.profile.components?.leaderWorkerSet ?? PLATFORM_SETTING_DEFAULTS.leaderWorkerSet,
  };
  const placed = replicaTopology({ tensor, pipeline, data, dataLocal }, nodeShape);
  if (!placed.ok) {
    problem(placed.problem.path, placed.problem.message);
  } else if (spec.accelerator.count !== undefined && spec.accelerator.count !== placed.topology.gpusPerPod) {
    const per =
      placed.topology.nodes > 1
        ? `a whole ${spec.accelerator.type} node: the replica spans ${placed.topology.nodes} nodes`
        : `parallelism.tensor ${tensor} x pipeline ${pipeline} x dataLocal ${dataLocal}`;
    problem(
      ['accelerator', 'count'],
      `expected ${placed.topology.gpusPerPod} (${per}), got ${spec.accelerator.count}`,
    );
  }
  const topology = placed.ok ? placed.topology : { gpusPerPod: 1, nodes: 1 };

  const extraArgs = spec.vllm?.extraArgs ?? [];
  extraArgs.forEach((arg, index) => {
    const flag = conflictingFlag(arg);
    if (flag !== undefined) {
      problem(
        ['vllm', 'extraArgs', String(index)],
        `expected no ${flag}: the generator derives it from ${derivedVllmFlags[flag] ?? 'the spec'}; set that instead`,
      );
    }
  });

  const objectives = spec.objectives ?? modelDefaults.objectives;
  const seenObjectives = new Set<string>();
  objectives.forEach((objective, index) => {
    if (seenObjectives.has(objective.name)) {
      problem(
        ['objectives', String(index), 'name'],
        `expected unique objective names, "${objective.name}" repeats`,
      );
    }
    seenObjectives.add(objective.name);
  });

  const servedName = spec.model.servedName ?? (source.kind === 'hf' ? source.repository : spec.name);
  const aliases = (spec.aliases ?? []).map((alias) => alias.name);
  const seenAliases = new Set<string>([servedName]);
  aliases.forEach((alias, index) => {
    if (seenAliases.has(alias)) {
      problem(
        ['aliases', String(index), 'name'],
        `expected an alias different from the served name and from other aliases, "${alias}" repeats`,
      );
    }
    seenAliases.add(alias);
  });

  const adapters: NonNullable<NormalizedModel['lora']>['adapters'][number][] = [];
  (spec.lora?.adapters ?? []).forEach((adapter, index) => {
    if (seenAliases.has(adapter.name)) {
      problem(
        ['lora', 'adapters', String(index), 'name'],
        `expected an adapter name different from the served name, the aliases and the other adapters, "${adapter.name}" repeats`,
      );
    }
    seenAliases.add(adapter.name);
    const adapterSource = parseSource(adapter.source);
    if (adapterSource.kind === 'pvc' && (source.kind !== 'pvc' || adapterSource.claim !== source.claim)) {
      problem(
        ['lora', 'adapters', String(index), 'source'],
        `expected hf://<org>/<repo> or a path in the model's own volume${source.kind === 'pvc' ? ` (pvc://${source.claim}/<path>)` : ''}: only the model's claim is mounted, at ${modelMountPath}`,
      );
    }
    adapters.push({ name: adapter.name, path: modelArgument(adapterSource) });
  });
  const lora =
    spec.lora === undefined
      ? undefined
      : {
          adapters,
          maxLoras: spec.lora.maxLoras ?? Math.min(adapters.length, modelDefaults.maxLoras),
          maxRank: spec.lora.maxRank ?? modelDefaults.maxLoraRank,
        };

  const startupTimeout = spec.vllm?.startupTimeoutSeconds ?? modelDefaults.startupTimeoutSeconds;
  const sharedCache = spec.vllm?.cache === 'shared';
  if (sharedCache && source.kind !== 'hf') {
    problem(
      ['vllm', 'cache'],
      `expected no shared cache for a ${source.kind}:// model: its weights are read from their volume, nothing is downloaded`,
    );
  } else if (sharedCache && platform.sharedStorageClass === null) {
    problem(
      ['vllm', 'cache'],
      `expected cloud.storageClass in ${platformFile} for a shared cache: the ${platform.cloud} cloud profile knows no ReadWriteMany storage class`,
    );
  }
  const rollout =
    spec.rollout === undefined
      ? undefined
      : normalizeRollout(spec.rollout, { nodes: topology.nodes, startupTimeoutSeconds: startupTimeout });
  for (const found of rollout?.problems ?? []) problem(found.path, found.message);
  const disaggregation =
    spec.disaggregation === undefined
      ? undefined
      : planDisaggregation(spec.disaggregation, {
          parallelism: { tensor, pipeline, data, dataLocal },
          nodeShape,
          rollout: spec.rollout !== undefined,
        });
  for (const found of disaggregation?.problems ?? []) problem(found.path, found.message);
  const prefill = disaggregation?.plan.prefill;
  const kserve = platform.profile.serving === 'kserve';
  if (spec.rollout !== undefined && spec.versions !== undefined) {
    problem(
      ['versions'],
      'expected either rollout (a canary of the pods) or versions (a split between versions), not both',
    );
  }

  const blockSize = spec.vllm?.blockSize ?? modelDefaults.blockSize;
  const prefixCache = spec.router?.prefixCache ?? modelDefaults.prefixCache;
  const maxModelLen = spec.vllm?.maxModelLen;
  const gpuMemoryUtilization = spec.vllm?.gpuMemoryUtilization;
  const argsOf = (from: ModelSource, stage: 'decode' | 'prefill' | undefined): readonly string[] =>
    vllmArgs({
      source: from,
      ...(stage === 'decode' ? { port: decodeVllmPort } : {}),
      kvTransfer: stage !== undefined,
      kvEvents: prefixCache === 'precise',
      servedName,
      tensor: stage === 'prefill' ? (prefill?.tensor ?? tensor) : tensor,
      pipeline: stage === 'prefill' ? (prefill?.pipeline ?? pipeline) : pipeline,
      data,
      dataLocal,
      expert,
      nodes: stage === 'prefill' ? (prefill?.topology.nodes ?? topology.nodes) : topology.nodes,
      ...(lora === undefined ? {} : { lora }),
      blockSize,
      ...(maxModelLen === undefined ? {} : { maxModelLen }),
      ...(gpuMemoryUtilization === undefined ? {} : { gpuMemoryUtilization }),
      extraArgs,
    });
  const argsFor = (from: ModelSource): readonly string[] =>
    argsOf(from, disaggregation === undefined ? undefined : 'decode');
  const prefillArgsFor = (from: ModelSource): readonly string[] => argsOf(from, 'prefill');
  const scaling =
    spec.autoscaling === undefined
      ? undefined
      : normalizeAutoscaling(spec.autoscaling, {
          platformFile,
          keda: platform.profile.components?.keda ?? PLATFORM_SETTING_DEFAULTS.keda,
          prometheusAdapter:
            platform.profile.components?.prometheusAdapter ?? PLATFORM_SETTING_DEFAULTS.prometheusAdapter,
          monitoring: platform.profile.monitoring?.enabled ?? PLATFORM_SETTING_DEFAULTS.monitoringEnabled,
          replicas: spec.replicas,
          versionsWithReplicas: (spec.versions?.split ?? []).flatMap((version, index) =>
            version.replicas === undefined ? [] : [index],
          ),
        });
  for (const found of scaling?.problems ?? []) problem(found.path, found.message);
  const replicas = scaling?.autoscaling.minReplicas ?? spec.replicas ?? modelDefaults.replicas;
  const versions =
    spec.versions === undefined
      ? undefined
      : normalizeVersions(spec.versions, {
          uri: spec.model.uri,
          source,
          replicas,
          parseSource,
          ...(kserve
            ? { vllmArgs: (from) => kserveVllmArgs(argsFor(from)), workloadUri: kserveModelUri }
            : { vllmArgs: argsFor }),
          ...(disaggregation === undefined
            ? {}
            : { prefillArgs: kserve ? (from) => kserveVllmArgs(prefillArgsFor(from)) : prefillArgsFor }),
        });
  for (const found of versions?.problems ?? []) problem(found.path, found.message);
  if (kserve) {
    const facts = {
      nodes: topology.nodes,
      gpusPerNode: nodeShape.gpusPerNode,
      tensor,
      pipeline,
      ...(prefill === undefined
        ? {}
        : { prefill: { tensor: prefill.tensor, pipeline: prefill.pipeline, nodes: prefill.topology.nodes } }),
      source,
      versionSources: versions?.split.versions.map((version) => version.source) ?? [],
      ...(platform.release === undefined
        ? {}
        : {
            release: { id: platform.release.id, apiVersion: platform.release.llmInferenceServiceApiVersion },
          }),
    };
    for (const found of kserveProblems(spec, facts)) problem(found.path, found.message);
  }
  const ociProblem = imageVolumeProblem({
    kubernetesVersion: platform.profile.cloud.kubernetesVersion,
    imageVolumes: platform.profile.cloud.imageVolumes,
    platformFile,
  });
  if (ociProblem !== undefined && !kserve) {
    if (source.kind === 'oci') problem(['model', 'uri'], ociProblem);
    versions?.split.versions.forEach((version, index) => {
      if (version.source.kind === 'oci' && source.kind !== 'oci') {
        problem(['versions', 'split', String(index), 'uri'], ociProblem);
      }
    });
  }

  const profile = (spec.router?.profile ?? modelDefaults.routerProfile) as RouterProfileName;
  if (spec.router?.affinityTokens !== undefined && profile !== 'switchyard') {
    problem(
      ['router', 'affinityTokens'],
      `only the switchyard profile trades prefix affinity against in-flight tokens; the "${profile}" profile weighs queue, KV-cache and prefix scores instead: remove router.affinityTokens or set router.profile: switchyard`,
      true,
    );
  }

  if (problems.length > 0 || acceleratorProfile === undefined) {
    return { ok: false, problems };
  }

  const hashSeed = spec.vllm?.hashSeed ?? modelDefaults.hashSeed;
  const hfTokenSecret = spec.model.hfTokenSecret;
  const apiKeySecret = spec.vllm?.apiKeySecret;

  const routerReplicas = spec.router?.replicas ?? modelDefaults.routerReplicas;
  const retryAttempts = spec.route?.retries?.attempts;
  const limit = spec.route?.rateLimit;
  // Each router replica sees about its share of the model's requests and keeps its own bucket.
  const rateLimit =
    limit === undefined
      ? undefined
      : {
          requestsPerSecond: limit.requestsPerSecond / routerReplicas,
          burst: Math.max(1, Math.ceil((limit.burst ?? Math.ceil(limit.requestsPerSecond)) / routerReplicas)),
        };

  const model: NormalizedModel = {
    environment,
    file: input.file,
    name: spec.name,
    namespace: spec.namespace,
    source,
    uri: spec.model.uri,
    servedName,
    ...(hfTokenSecret === undefined
      ? {}
      : {
          hfTokenSecret: {
            name: hfTokenSecret.name,
            key: hfTokenSecret.key ?? (kserve ? KSERVE_HF_TOKEN_KEY : modelDefaults.hfTokenKey),
          },
        }),
    replicas,
    parallelism: { tensor, pipeline, data, dataLocal, expert },
    gpusPerPod: topology.gpusPerPod,
    nodes: topology.nodes,
    accelerator: {
      type: spec.accelerator.type,
      resourceName: acceleratorProfile.resourceName,
      nodeSelector: definedEntries(acceleratorProfile.nodeSelector ?? {}),
      tolerations: acceleratorProfile.tolerations ?? [],
      groupTopologyKey: acceleratorProfile.groupTopologyKey ?? cloudPlacement?.groupTopologyKey ?? '',
    },
    resources: {
      cpu: spec.resources?.cpu ?? modelDefaults.cpu,
      memory: spec.resources?.memory ?? modelDefaults.memory,
    },
    vllm: {
      image: spec.vllm?.image ?? platform.vllmImage,
      args: argsFor(source),
      blockSize,
      hashSeed,
      shmSize: spec.vllm?.shmSize ?? modelDefaults.shmSize,
      cacheSize: spec.vllm?.cacheSize ?? modelDefaults.cacheSize,
      ...(sharedCache && platform.sharedStorageClass !== null
        ? { sharedCacheStorageClass: platform.sharedStorageClass }
        : {}),
      startupFailureThreshold: Math.ceil(startupTimeout / startupProbePeriodSeconds),
      kvEventsPort: prefixCache === 'precise' ? kvEventsPort : 0,
      ...(apiKeySecret === undefined
        ? {}
        : { apiKeySecret: { name: apiKeySecret.name, key: apiKeySecret.key ?? modelDefaults.apiKeyKey } }),
    },
    router: {
      image: platform.routerImage,
      replicas: routerReplicas,
      failureMode: spec.router?.failureMode ?? modelDefaults.failureMode,
      profile,
      config: routerConfig(profile, blockSize, {
        lora: lora !== undefined,
        affinityTokens: spec.router?.affinityTokens ?? modelDefaults.affinityTokens,
        prefixCache,
        ...(retryAttempts === undefined ? {} : { endpoints: retryAttempts + 1 }),
        ...(disaggregation === undefined
          ? {}
          : { disaggregation: { minUncachedTokens: disaggregation.plan.minUncachedTokens } }),
      }),
    },
    objectives: objectives.map((o) => ({ name: o.name, priority: o.priority })),
    aliases,
    ...(lora === undefined ? {} : { lora }),
    ...(rollout === undefined ? {} : { rollout: rollout.rollout }),
    ...(versions === undefined ? {} : { versionSplit: versions.split }),
    ...(scaling === undefined ? {} : { autoscaling: scaling.autoscaling }),
    ...(kserve && platform.release !== undefined
      ? {
          kserve: {
            apiVersion: platform.release.llmInferenceServiceApiVersion,
            uri: kserveModelUri(source, spec.model.uri),
            args: kserveVllmArgs(argsFor(source)),
            prefillArgs: disaggregation === undefined ? [] : kserveVllmArgs(prefillArgsFor(source)),
          },
        }
      : {}),
    ...(disaggregation === undefined
      ? {}
      : {
          disaggregation: {
            kvConnector: disaggregation.plan.kvConnector,
            minUncachedTokens: disaggregation.plan.minUncachedTokens,
            sidecarImage: pdSidecarImage(platform.release),
            prefill: {
              replicas: disaggregation.plan.prefill.replicas,
              tensor: disaggregation.plan.prefill.tensor,
              pipeline: disaggregation.plan.prefill.pipeline,
              gpusPerPod: disaggregation.plan.prefill.topology.gpusPerPod,
              nodes: disaggregation.plan.prefill.topology.nodes,
              args: prefillArgsFor(source),
            },
          },
        }),
    requestTimeout: spec.route?.requestTimeout ?? modelDefaults.requestTimeout,
    ...(retryAttempts === undefined ? {} : { retryAttempts }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    names: modelObjectNames(
      spec.name,
      objectives.map((o) => o.name),
      poolTracks(rollout !== undefined, versions?.split),
    ),
  };
  return { ok: true, model };
}

/**
 * The tracks of a model's pools: none for one pool, stable and canary for a canary rollout, the version names
 * for a version split (charts/model-server/templates/_helpers.tpl, "model-server.pools").
 */
function poolTracks(canary: boolean, split: NormalizedVersionSplit | undefined): readonly string[] {
  if (canary) return ['stable', 'canary'];
  return split?.versions.map((version) => version.name) ?? [];
}

/** The chart's names (charts/model-server/templates/_helpers.tpl), for the checks across models. */
export function modelObjectNames(
  name: string,
  objectives: readonly string[],
  tracks: readonly string[] = [],
): NormalizedModel['names'] {
  // Per-pool objects carry the track in their name, except the canary's stable pool, which keeps the plain ones.
  const poolPrefixes = tracks.length === 0 ? [''] : tracks.map((track) => (track === 'stable' ? '' : track));
  return {
    vllm: objectName(name, 'vllm'),
    pools: tracks.length === 0 ? [objectName(name)] : tracks.map((track) => objectName(name, track)),
    pool: objectName(name),
    router: objectName(name, 'router'),
    routerTls: objectName(name, 'router', 'tls'),
    route: objectName(name),
    rewrites: objectName(name, 'aliases'),
    objectives: poolPrefixes.flatMap((prefix) =>
      objectives.map((objective) => ({ objective, name: objectName(name, prefix, objective) })),
    ),
  };
}

/** The schema's pattern has already accepted the URI. */
export function parseSource(uri: string): ModelSource {
  const [scheme = '', rest = ''] = uri.split('://', 2);
  if (scheme === 'hf') {
    return { kind: 'hf', repository: rest };
  }
  if (scheme === 'pvc') {
    const slash = rest.indexOf('/');
    return { kind: 'pvc', claim: rest.slice(0, slash), path: rest.slice(slash + 1) };
  }
  return { kind: 'oci', reference: rest };
}

function definedEntries(map: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** A name a model claims, with the spec field that claims it. */
interface ClaimedName {
  readonly key: string;
  readonly path: readonly string[];
}

/**
 * The first model to claim a key owns it; every later model that claims it again gets a problem at the field
 * that claims it (a model may repeat its own key: that is checked per model).
 */
function clashes(
  loaded: readonly LoadedModel[],
  models: readonly NormalizedModel[],
  claims: (model: NormalizedModel) => readonly ClaimedName[],
  message: (model: NormalizedModel, claim: ClaimedName, owner: string) => string,
): InputProblem[] {
  const problems: InputProblem[] = [];
  const owners = new Map<string, string>();
  for (const model of models) {
    for (const claim of claims(model)) {
      const { key, path } = claim;
      const owner = owners.get(key);
      if (owner === undefined) {
        owners.set(key, model.name);
        continue;
      }
      if (owner === model.name) continue;
      const input = loaded.find((l) => l.input.file === model.file)?.input;
      problems.push({
        ...(input === undefined ? { file: model.file, line: 1, column: 1 } : locateIn(input, path)),
        pointer: toPointer(path),
        message: message(model, claim, owner),
      });
    }
  }
  return problems;
}

/** serving: kserve needs the KServe controller the kserve component installs. */
function servingProblems(env: LoadedEnvironment, profile: PlatformProfile): InputProblem[] {
  if (profile.serving !== 'kserve' || profile.components?.kserve === true) return [];
  const path = ['serving'];
  return [
    {
      ...locateIn(env.platform, path),
      pointer: toPointer(path),
      message: `expected components.kserve: true in environments/${env.name}/platform.yaml for serving: kserve: the KServe controller runs the models' LLMInferenceServices`,
    },
  ];
}

/**
 * Identity-based priority maps claim values to objectives by name, in every model's router: a name some model
 * lacks would leave its callers at priority 0 there, so every model must have every mapped objective.
 */
function identityObjectiveProblems(
  env: LoadedEnvironment,
  profile: PlatformProfile,
  models: readonly NormalizedModel[],
): InputProblem[] {
  const identity = profile.gateway?.identity;
  if (identity === undefined) return [];
  const problems: InputProblem[] = [];
  for (const [claim, objective] of Object.entries(identity.objectives)) {
    const missing = models.filter((model) => !model.objectives.some((o) => o.name === objective));
    if (missing.length === 0) continue;
    const path = ['gateway', 'identity', 'objectives', claim];
    problems.push({
      ...locateIn(env.platform, path),
      pointer: toPointer(path),
      message: `expected an objective every model of the environment has: ${missing
        .map((model) => `model ${model.name} has no objective "${String(objective)}" (${model.file})`)
        .join('; ')}`,
    });
  }
  return problems;
}

/**
 * InferenceObjective objects are named <model>-<objective>, so model "a" with objective "b-premium" and
 * model "a-b" with objective "premium" would write the same object in a shared namespace.
 */
function objectiveNameClashes(
  loaded: readonly LoadedModel[],
  models: readonly NormalizedModel[],
): InputProblem[] {
  return clashes(
    loaded,
    models,
    (model) =>
      model.names.objectives.map(({ name, objective }) => ({
        key: `${model.namespace}/${name}`,
        path: ['objectives', String(model.objectives.findIndex((o) => o.name === objective)), 'name'],
      })),
    (model, { key }, owner) =>
      `expected an InferenceObjective name unused in namespace ${model.namespace}: "${key.slice(model.namespace.length + 1)}" is also an objective of model ${owner}`,
  );
}

/**
 * Every name a model answers to on the shared gateway (served name, aliases, LoRA adapters) belongs to one
 * model of the environment: otherwise a request naming it could not say which model it means.
 */
function servedNameClashes(
  loaded: readonly LoadedModel[],
  models: readonly NormalizedModel[],
): InputProblem[] {
  return clashes(
    loaded,
    models,
    (model) => [
      { key: model.servedName, path: ['model', 'servedName'] },
      ...model.aliases.map((alias, index) => ({ key: alias, path: ['aliases', String(index), 'name'] })),
      ...(model.lora?.adapters ?? []).map((adapter, index) => ({
        key: adapter.name,
        path: ['lora', 'adapters', String(index), 'name'],
      })),
    ],
    (_model, { key, path }, owner) =>
      `expected a model name no other model of the environment answers to: "${key}" is also served by model ${owner}${path[1] === 'servedName' ? ' (set model.servedName to tell them apart)' : ''}`,
  );
}

/**
 * A model's InferencePools (and their Services) are named after it: "a", or "a-stable" and "a-canary" with a
 * canary rollout, so model "a" with a rollout and a model "a-canary" in the same namespace would share objects.
 */
function poolNameClashes(loaded: readonly LoadedModel[], models: readonly NormalizedModel[]): InputProblem[] {
  return clashes(
    loaded,
    models,
    (model) =>
      model.names.pools.map((pool) => ({
        key: `${model.namespace}/${pool}`,
        path:
          model.rollout !== undefined
            ? ['rollout']
            : model.versionSplit !== undefined
              ? ['versions']
              : ['name'],
      })),
    (model, { key }, owner) =>
      `expected object names unused in namespace ${model.namespace}: the InferencePool "${key.slice(model.namespace.length + 1)}" also belongs to model ${owner}`,
  );
}
