// Watches the InferencePool named by flags, the Pods it selects, and the InferenceObjectives and
// InferenceModelRewrites of its namespace, with @kubernetes/client-node list/watch informers.
// An informer that fails (API server gone, 404 for a CRD that is not installed, …) is restarted with
// exponential backoff; an expired resourceVersion (410 Gone) makes the informer list again. Watches ask for
// bookmarks (allowWatchBookmarks), so a quiet collection still hears from the API server and resumes from a
// recent resourceVersion, and a watch that delivers nothing for `watchStallTimeoutMs` is restarted from its
// last resourceVersion: a connection that hangs without closing no longer hides new pods.
import {
  CoreV1Api,
  CustomObjectsApi,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { EndpointRegistry } from './endpoint-registry.ts';
import {
  labelSelectorOf,
  parsePoolSpec,
  targetsFromPods,
  type PodLike,
  type PoolSpec,
} from './inference-pool.ts';
import { objectivePriorities, rewriteRules, type RewriteRule } from './objectives.ts';

export const INFERENCE_POOL_GROUP = 'inference.networking.k8s.io';
export const INFERENCE_POOL_VERSION = 'v1';

export interface KubeDiscoveryOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly poolName: string;
  readonly registry: EndpointRegistry;
  /** API group of InferenceObjective / InferenceModelRewrite ("llm-d.ai" or "inference.networking.x-k8s.io"). */
  readonly objectiveGroup?: string;
  readonly objectiveVersion?: string;
  readonly onObjectives?: (priorities: ReadonlyMap<string, number>) => void;
  readonly onRewrites?: (rules: readonly RewriteRule[]) => void;
  readonly onEvent?: (message: string) => void;
  /** First restart delay after an informer error; doubles up to maxRestartDelayMs. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  /** How the client library waits between watch reconnects (its default waits 1 s, then backs off). */
  readonly watchReconnectDelay?: (ms: number) => Promise<void>;
  /** A watch silent this long (no event, no bookmark) is restarted (default 15 s). */
  readonly watchStallTimeoutMs?: number;
}

const DEFAULT_WATCH_STALL_TIMEOUT_MS = 15_000;

/** The error ListWatch treats as a client-side timeout: it resumes at once from the last resourceVersion. */
function watchTimeout(): Error {
  return new DOMException('the watch delivered nothing within the stall timeout', 'TimeoutError');
}

/**
 * A Watch that asks the API server for bookmarks and restarts a watch that stays silent (no event, no
 * bookmark) for `stallMs`: the connection is aborted and reported as a timeout, which makes the ListWatch
 * resume from its last resourceVersion without a new list.
 */
export class StallDetectingWatch extends Watch {
  readonly #stallMs: number;
  readonly #onStall: (path: string) => void;

  constructor(config: KubeConfig, stallMs: number, onStall: (path: string) => void) {
    super(config);
    this.#stallMs = stallMs;
    this.#onStall = onStall;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    // The library's own signature.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    done: (err: any) => void,
  ): Promise<AbortController> {
    let stalled = false;
    let finished = false;
    /** Set once the library's watch request answered. */
    const current: { controller?: AbortController } = {};
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        this.#onStall(path);
        current.controller?.abort();
      }, this.#stallMs);
      timer.unref();
    };
    arm();
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, apiObj, watchObj) => {
        arm();
        callback(phase, apiObj, watchObj);
      },
      (err) => {
        if (finished) {
          return;
        }
        finished = true;
        clearTimeout(timer);
        done(stalled ? watchTimeout() : err);
      },
    );
    current.controller = controller;
    if (stalled || finished) {
      clearTimeout(timer);
      controller.abort();
    }
    return controller;
  }
}

type ListFn = () => Promise<KubernetesListObject<KubernetesObject>>;

/** A ListWatch that restarts itself after errors and reports changes through one callback. */
class RestartingInformer {
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #name: string;
  readonly #opts: KubeDiscoveryOptions;
  #stopped = false;
  #listed = false;
  #delay: number;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(
    name: string,
    opts: KubeDiscoveryOptions,
    path: string,
    listFn: ListFn,
    onChange: () => void,
    labelSelector?: string,
    fieldSelector?: string,
  ) {
    this.#name = name;
    this.#opts = opts;
    this.#delay = opts.restartDelayMs ?? 1000;
    const wrappedList: ListFn = async () => {
      const list = await listFn();
      this.#listed = true;
      this.#delay = opts.restartDelayMs ?? 1000;
      queueMicrotask(onChange);
      return list;
    };
    this.#lw = new ListWatch(
      path,
      new StallDetectingWatch(
        opts.kubeConfig,
        opts.watchStallTimeoutMs ?? DEFAULT_WATCH_STALL_TIMEOUT_MS,
        () => opts.onEvent?.(`${name} watch was silent for too long; restarting it`),
      ),
      wrappedList,
      false,
      labelSelector,
      fieldSelector,
      opts.watchReconnectDelay ? { delayFn: opts.watchReconnectDelay } : {},
    );
    this.#lw.on('add', onChange);
    this.#lw.on('update', onChange);
    this.#lw.on('delete', onChange);
    this.#lw.on('error', (err: unknown) => this.#restartLater(err));
  }

  start(): Promise<void> {
    return this.#lw.start();
  }

  listed(): boolean {
    return this.#listed;
  }

  objects(): readonly KubernetesObject[] {
    return this.#lw.list();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer !== undefined) {
      clearTimeout(this.#restartTimer);
    }
    await this.#lw.stop();
  }

  #restartLater(err: unknown): void {
    if (this.#stopped) {
      return;
    }
    const message = err instanceof Error ? err.message : JSON.stringify(err);
    this.#opts.onEvent?.(`${this.#name} watch failed (${message}); retrying in ${this.#delay} ms`);
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#opts.maxRestartDelayMs ?? 30_000);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopped) {
        void this.#lw.start();
      }
    }, delay);
    this.#restartTimer.unref();
  }
}

export class KubeDiscovery {
  readonly #opts: KubeDiscoveryOptions;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #pools: RestartingInformer;
  readonly #objectives: RestartingInformer;
  readonly #rewrites: RestartingInformer;
  #pods: RestartingInformer | undefined;
  #podSelector: string | undefined;
  #spec: PoolSpec | undefined;
  #stopped = false;
  #recomputeQueued = false;

  constructor(opts: KubeDiscoveryOptions) {
    this.#opts = opts;
    this.#core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.#custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    const ns = opts.namespace;
    const poolPath = `/apis/${INFERENCE_POOL_GROUP}/${INFERENCE_POOL_VERSION}/namespaces/${ns}/inferencepools`;
    const fieldSelector = `metadata.name=${opts.poolName}`;
    this.#pools = new RestartingInformer(
      'InferencePool',
      opts,
      poolPath,
      () => this.#listCustom(INFERENCE_POOL_GROUP, INFERENCE_POOL_VERSION, 'inferencepools', fieldSelector),
      () => this.#onPoolChange(),
      undefined,
      fieldSelector,
    );
    const group = opts.objectiveGroup ?? 'llm-d.ai';
    const version = opts.objectiveVersion ?? 'v1alpha2';
    this.#objectives = new RestartingInformer(
      'InferenceObjective',
      opts,
      `/apis/${group}/${version}/namespaces/${ns}/inferenceobjectives`,
      () => this.#listCustom(group, version, 'inferenceobjectives'),
      () => opts.onObjectives?.(objectivePriorities(this.#objectives.objects(), opts.poolName)),
    );
    this.#rewrites = new RestartingInformer(
      'InferenceModelRewrite',
      opts,
      `/apis/${group}/${version}/namespaces/${ns}/inferencemodelrewrites`,
      () => this.#listCustom(group, version, 'inferencemodelrewrites'),
      () => opts.onRewrites?.(rewriteRules(this.#rewrites.objects(), opts.poolName)),
    );
  }

  /** Starts every watch; resolves once each has made its first list attempt. */
  async start(): Promise<void> {
    await Promise.all([this.#pools.start(), this.#objectives.start(), this.#rewrites.start()]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([
      this.#pools.stop(),
      this.#objectives.stop(),
      this.#rewrites.stop(),
      this.#pods?.stop() ?? Promise.resolve(),
    ]);
  }

  #listCustom(
    group: string,
    version: string,
    plural: string,
    fieldSelector?: string,
  ): Promise<KubernetesListObject<KubernetesObject>> {
    return this.#custom.listNamespacedCustomObject({
      group,
      version,
      namespace: this.#opts.namespace,
      plural,
      ...(fieldSelector !== undefined ? { fieldSelector } : {}),
    }) as Promise<KubernetesListObject<KubernetesObject>>;
  }

  #onPoolChange(): void {
    if (this.#stopped) {
      return;
    }
    const where = `InferencePool ${this.#opts.namespace}/${this.#opts.poolName}`;
    const pool = this.#pools.objects().find((p) => p.metadata?.name === this.#opts.poolName);
    let spec: PoolSpec | undefined;
    if (pool === undefined) {
      if (this.#pools.listed()) {
        this.#opts.onEvent?.(`${where} not found; no endpoints`);
      }
    } else {
      try {
        spec = parsePoolSpec(pool, where);
      } catch (err) {
        this.#opts.onEvent?.(`${err instanceof Error ? err.message : String(err)}; no endpoints`);
      }
    }
    this.#spec = spec;
    const selector = spec === undefined ? undefined : labelSelectorOf(spec);
    if (selector !== this.#podSelector) {
      this.#podSelector = selector;
      const old = this.#pods;
      this.#pods = undefined;
      if (old !== undefined) {
        void old.stop();
      }
      if (selector !== undefined) {
        const pods = new RestartingInformer(
          'Pod',
          this.#opts,
          `/api/v1/namespaces/${this.#opts.namespace}/pods`,
          () =>
            this.#core.listNamespacedPod({
              namespace: this.#opts.namespace,
              labelSelector: selector,
            }) as Promise<KubernetesListObject<KubernetesObject>>,
          () => this.#queueRecompute(),
          selector,
        );
        this.#pods = pods;
        void pods.start();
      }
    }
    this.#queueRecompute();
  }

  #queueRecompute(): void {
    if (this.#recomputeQueued) {
      return;
    }
    this.#recomputeQueued = true;
    queueMicrotask(() => {
      this.#recomputeQueued = false;
      this.#recompute();
    });
  }

  #recompute(): void {
    if (this.#stopped) {
      return;
    }
    const spec = this.#spec;
    const pods = this.#pods;
    if (spec === undefined || pods === undefined) {
      this.#opts.registry.setTargets([]);
      return;
    }
    this.#opts.registry.setTargets(targetsFromPods(pods.objects() as readonly PodLike[], spec));
    if (pods.listed()) {
      this.#opts.registry.markSynced();
    }
  }
}
