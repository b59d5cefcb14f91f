// Pure translation of an InferencePool and the Pods it selects into endpoint targets.
import { endpointKey, type EndpointTarget } from './endpoint-registry.ts';

export interface PoolSpec {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly targetPorts: readonly number[];
}

/** The fields of a Pod the router reads (raw watch JSON and client-node's typed objects both fit). */
export interface PodLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: unknown;
  };
  readonly status?: {
    readonly podIP?: string;
    readonly phase?: string;
    readonly conditions?: readonly { readonly type?: string; readonly status?: string }[];
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads spec.selector.matchLabels and spec.targetPorts[].number; throws naming the field that is wrong. */
export function parsePoolSpec(pool: unknown, where: string): PoolSpec {
  const spec = isRecord(pool) ? pool['spec'] : undefined;
  if (!isRecord(spec)) {
    throw new Error(`${where}: spec: expected an object`);
  }
  const selector = spec['selector'];
  const matchLabelsRaw = isRecord(selector) ? selector['matchLabels'] : undefined;
  if (!isRecord(matchLabelsRaw) || Object.keys(matchLabelsRaw).length === 0) {
    throw new Error(`${where}: spec.selector.matchLabels: expected a non-empty map of labels`);
  }
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(matchLabelsRaw)) {
    if (typeof v !== 'string') {
      throw new Error(`${where}: spec.selector.matchLabels.${k}: expected a string`);
    }
    matchLabels[k] = v;
  }
  const portsRaw = spec['targetPorts'];
  if (!Array.isArray(portsRaw) || portsRaw.length === 0) {
    throw new Error(`${where}: spec.targetPorts: expected a non-empty list`);
  }
  const targetPorts = portsRaw.map((p: unknown, i) => {
    const n = isRecord(p) ? p['number'] : undefined;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
      throw new Error(`${where}: spec.targetPorts[${i}].number: expected an integer in 1..65535`);
    }
    return n;
  });
  return { matchLabels, targetPorts: [...new Set(targetPorts)] };
}

/** The label selector string for a list/watch of the pool's pods ("k1=v1,k2=v2", keys sorted). */
export function labelSelectorOf(spec: PoolSpec): string {
  return Object.keys(spec.matchLabels)
    .sort()
    .map((k) => `${k}=${spec.matchLabels[k] ?? ''}`)
    .join(',');
}

export function podMatches(pod: PodLike, spec: PoolSpec): boolean {
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(spec.matchLabels).every(([k, v]) => labels[k] === v);
}

/** Ready, not terminating, with an IP: only such pods receive traffic. */
export function podIsRoutable(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) {
    return false;
  }
  if (pod.status?.podIP === undefined || pod.status.podIP === '') {
    return false;
  }
  if (pod.status.phase !== undefined && pod.status.phase !== 'Running') {
    return false;
  }
  return (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** One target per routable matching pod and target port. */
export function targetsFromPods(pods: Iterable<PodLike>, spec: PoolSpec): EndpointTarget[] {
  const targets: EndpointTarget[] = [];
  for (const pod of pods) {
    if (!podMatches(pod, spec) || !podIsRoutable(pod)) {
      continue;
    }
    const address = pod.status?.podIP ?? '';
    const labels = { ...(pod.metadata?.labels ?? {}) };
    for (const port of spec.targetPorts) {
      targets.push({ key: endpointKey(address, port), address, port, labels });
    }
  }
  return targets;
}
