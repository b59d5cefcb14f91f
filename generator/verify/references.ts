// References between the objects one environment deploys. Each object can be valid alone and the whole still
// not work: an HTTPRoute whose Gateway does not admit its namespace, a backend or endpoint picker Service that
// does not exist or lacks the port, a pool or Service whose selector matches no pod. Schemas and CEL rules see
// one object at a time, so these are checked here, across every Application of the environment.
import { isJsonObject, type FieldError, type JsonObject } from './openapi-schema.ts';
import { llmInferenceServicePods } from './kserve-pods.ts';

export interface PlacedObject {
  object: JsonObject;
  /** The namespace the object lands in: its own, or its Application's destination. */
  namespace: string;
}

export interface ReferenceProblem extends FieldError {
  subject: PlacedObject;
}

interface PodShape {
  namespace: string;
  labels: Record<string, string>;
  ports: { name?: string; containerPort: number }[];
}

function record(value: unknown): JsonObject {
  return isJsonObject(value) ? value : {};
}

function list(value: unknown): JsonObject[] {
  return Array.isArray(value) ? (value as unknown[]).filter(isJsonObject) : [];
}

function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(record(value))) {
    if (typeof entry === 'string') {
      result[key] = entry;
    }
  }
  return result;
}

function groupOf(object: JsonObject): string {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  return apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}

function nameOf(object: JsonObject): string {
  const name = record(object.metadata).name;
  return typeof name === 'string' ? name : '';
}

function podTemplates(object: JsonObject): { template: JsonObject; extraLabels: Record<string, string>[] }[] {
  const spec = record(object.spec);
  const group = groupOf(object);
  const kind = object.kind;
  if (group === 'apps' || (group === 'batch' && kind === 'Job')) {
    return [{ template: record(spec.template), extraLabels: [{}] }];
  }
  if (group === 'argoproj.io' && kind === 'Rollout') {
    // Rollouts label stable and canary pods with these extra labels, which pools and Services may select on.
    const canary = record(record(spec.strategy).canary);
    const extra = [record(canary.stableMetadata).labels, record(canary.canaryMetadata).labels].map(stringMap);
    return [
      {
        template: record(spec.template),
        extraLabels: extra.some((labels) => Object.keys(labels).length > 0) ? extra : [{}],
      },
    ];
  }
  if (group === 'serving.kserve.io' && kind === 'LLMInferenceService') {
    return llmInferenceServicePods(object).map((template) => ({ template, extraLabels: [{}] }));
  }
  if (group === 'leaderworkerset.x-k8s.io' && kind === 'LeaderWorkerSet') {
    // The controller labels each pod with its index in the group: the leader is worker 0 (and uses the worker
    // template when no leader template is given), workers are 1 … size-1.
    const lwt = record(spec.leaderWorkerTemplate);
    const index = 'leaderworkerset.sigs.k8s.io/worker-index';
    const size = typeof lwt.size === 'number' ? lwt.size : 1;
    const workers = Array.from({ length: Math.max(size - 1, 0) }, (_, i) => ({ [index]: String(i + 1) }));
    const leader = isJsonObject(lwt.leaderTemplate) ? lwt.leaderTemplate : lwt.workerTemplate;
    return [
      ...(isJsonObject(leader) ? [{ template: leader, extraLabels: [{ [index]: '0' }] }] : []),
      ...(isJsonObject(lwt.workerTemplate) && workers.length > 0
        ? [{ template: lwt.workerTemplate, extraLabels: workers }]
        : []),
    ];
  }
  return [];
}

function podsOf(placed: PlacedObject): PodShape[] {
  return podTemplates(placed.object).flatMap(({ template, extraLabels }) => {
    const labels = stringMap(record(template.metadata).labels);
    const containers = list(record(template.spec).containers);
    const ports = containers.flatMap((container) =>
      list(container.ports).flatMap((port) =>
        typeof port.containerPort === 'number'
          ? [
              {
                containerPort: port.containerPort,
                ...(typeof port.name === 'string' ? { name: port.name } : {}),
              },
            ]
          : [],
      ),
    );
    return extraLabels.map((extra) => ({
      namespace: placed.namespace,
      labels: { ...labels, ...extra },
      ports,
    }));
  });
}

/** Kubernetes label selector semantics: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
export function selectorMatches(selector: JsonObject, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(stringMap(selector.matchLabels))) {
    if (labels[key] !== value) {
      return false;
    }
  }
  for (const expression of list(selector.matchExpressions)) {
    const key = String(expression.key);
    const values = Array.isArray(expression.values) ? (expression.values as unknown[]).map(String) : [];
    const present = Object.hasOwn(labels, key);
    const ok =
      expression.operator === 'In'
        ? present && values.includes(labels[key] ?? '')
        : expression.operator === 'NotIn'
          ? !present || !values.includes(labels[key] ?? '')
          : expression.operator === 'Exists'
            ? present
            : expression.operator === 'DoesNotExist'
              ? !present
              : false;
    if (!ok) {
      return false;
    }
  }
  return true;
}

class EnvironmentObjects {
  private readonly byKey = new Map<string, PlacedObject>();
  readonly all: readonly PlacedObject[];
  readonly pods: PodShape[];

  constructor(all: readonly PlacedObject[]) {
    this.all = all;
    for (const placed of all) {
      this.byKey.set(
        this.key(groupOf(placed.object), String(placed.object.kind), placed.namespace, nameOf(placed.object)),
        placed,
      );
    }
    this.pods = all.flatMap(podsOf);
  }

  private key(group: string, kind: string, namespace: string, name: string): string {
    return `${group}/${kind}/${namespace}/${name}`;
  }

  find(group: string, kind: string, namespace: string, name: string): PlacedObject | undefined {
    return this.byKey.get(this.key(group, kind, namespace, name));
  }

  has(group: string, kind: string): boolean {
    return this.all.some((placed) => groupOf(placed.object) === group && placed.object.kind === kind);
  }
}

function servicePortError(
  service: PlacedObject | undefined,
  what: string,
  port: unknown,
): string | undefined {
  if (service === undefined) {
    return `${what}, which no Application of this environment deploys`;
  }
  const ports = list(record(service.object.spec).ports);
  if (typeof port === 'number' && !ports.some((entry) => entry.port === port)) {
    return `${what} has no port ${String(port)}`;
  }
  return undefined;
}

function checkRoute(route: PlacedObject, env: EnvironmentObjects, problems: ReferenceProblem[]): void {
  const spec = record(route.object.spec);
  list(spec.parentRefs).forEach((ref, index) => {
    const group = typeof ref.group === 'string' ? ref.group : 'gateway.networking.k8s.io';
    const kind = typeof ref.kind === 'string' ? ref.kind : 'Gateway';
    if (group !== 'gateway.networking.k8s.io' || kind !== 'Gateway' || !env.has(group, kind)) {
      return; // Gateways deployed outside this repository cannot be checked.
    }
    const namespace = typeof ref.namespace === 'string' ? ref.namespace : route.namespace;
    const path = `spec.parentRefs[${String(index)}]`;
    const gateway = env.find(group, kind, namespace, String(ref.name));
    if (gateway === undefined) {
      problems.push({
        subject: route,
        path,
        message: `refers to Gateway ${namespace}/${String(ref.name)}, which no Application of this environment deploys`,
      });
      return;
    }
    const listeners = list(record(gateway.object.spec).listeners).filter(
      (listener) => typeof ref.sectionName !== 'string' || listener.name === ref.sectionName,
    );
    if (listeners.length === 0) {
      problems.push({
        subject: route,
        path,
        message: `Gateway ${namespace}/${nameOf(gateway.object)} has no listener ${String(ref.sectionName)}`,
      });
      return;
    }
    const admits = listeners.some((listener) => {
      const namespaces = record(record(listener.allowedRoutes).namespaces);
      const from = typeof namespaces.from === 'string' ? namespaces.from : 'Same';
      if (from === 'All') {
        return true;
      }
      if (from === 'Same') {
        return route.namespace === gateway.namespace;
      }
      return (
        from === 'Selector' &&
        selectorMatches(record(namespaces.selector), { 'kubernetes.io/metadata.name': route.namespace })
      );
    });
    if (!admits) {
      problems.push({
        subject: route,
        path,
        message: `Gateway ${namespace}/${nameOf(gateway.object)} does not admit routes from namespace ${route.namespace}`,
      });
    }
  });
  list(spec.rules).forEach((rule, ruleIndex) => {
    list(rule.backendRefs).forEach((ref, refIndex) => {
      const group = typeof ref.group === 'string' ? ref.group : '';
      const kind = typeof ref.kind === 'string' ? ref.kind : 'Service';
      const namespace = typeof ref.namespace === 'string' ? ref.namespace : route.namespace;
      const name = String(ref.name);
      const path = `spec.rules[${String(ruleIndex)}].backendRefs[${String(refIndex)}]`;
      let message: string | undefined;
      if (group === '' && kind === 'Service') {
        message = servicePortError(
          env.find('', 'Service', namespace, name),
          `refers to Service ${namespace}/${name}`,
          ref.port,
        );
      } else if (kind === 'InferencePool' && env.find(group, kind, namespace, name) === undefined) {
        message = `refers to InferencePool ${namespace}/${name} (${group}), which no Application of this environment deploys`;
      }
      if (message !== undefined) {
        problems.push({ subject: route, path, message });
      }
    });
  });
}

function checkPool(pool: PlacedObject, env: EnvironmentObjects, problems: ReferenceProblem[]): void {
  const spec = record(pool.object.spec);
  const picker = record(spec.endpointPickerRef);
  if (
    (picker.kind ?? 'Service') === 'Service' &&
    (picker.group ?? '') === '' &&
    typeof picker.name === 'string'
  ) {
    const service = env.find('', 'Service', pool.namespace, picker.name);
    const message = servicePortError(
      service,
      `refers to endpoint picker Service ${pool.namespace}/${picker.name}`,
      record(picker.port).number,
    );
    if (message !== undefined) {
      problems.push({ subject: pool, path: 'spec.endpointPickerRef', message });
    }
  }
  const selector = record(spec.selector);
  const selected = env.pods.filter(
    (pod) => pod.namespace === pool.namespace && selectorMatches(selector, pod.labels),
  );
  if (selected.length === 0) {
    problems.push({
      subject: pool,
      path: 'spec.selector',
      message: 'selects no pod of any workload this environment deploys',
    });
    return;
  }
  list(spec.targetPorts).forEach((port, index) => {
    if (!selected.some((pod) => pod.ports.some((entry) => entry.containerPort === port.number))) {
      problems.push({
        subject: pool,
        path: `spec.targetPorts[${String(index)}]`,
        message: `no selected pod has a container port ${String(port.number)}`,
      });
    }
  });
}

function checkPoolRef(subject: PlacedObject, env: EnvironmentObjects, problems: ReferenceProblem[]): void {
  const ref = record(record(subject.object.spec).poolRef);
  const group = typeof ref.group === 'string' ? ref.group : 'inference.networking.k8s.io';
  const kind = typeof ref.kind === 'string' ? ref.kind : 'InferencePool';
  if (typeof ref.name === 'string' && env.find(group, kind, subject.namespace, ref.name) === undefined) {
    problems.push({
      subject,
      path: 'spec.poolRef',
      message: `refers to ${kind} ${subject.namespace}/${ref.name}, which no Application of this environment deploys`,
    });
  }
}

function checkService(service: PlacedObject, env: EnvironmentObjects, problems: ReferenceProblem[]): void {
  const spec = record(service.object.spec);
  const selector = stringMap(spec.selector);
  if (Object.keys(selector).length === 0 || spec.type === 'ExternalName') {
    return;
  }
  const selected = env.pods.filter(
    (pod) => pod.namespace === service.namespace && selectorMatches({ matchLabels: selector }, pod.labels),
  );
  if (selected.length === 0) {
    problems.push({
      subject: service,
      path: 'spec.selector',
      message: 'selects no pod of any workload this environment deploys',
    });
    return;
  }
  list(spec.ports).forEach((port, index) => {
    const target = port.targetPort ?? port.port;
    const found = selected.some((pod) =>
      pod.ports.some((entry) =>
        typeof target === 'string' ? entry.name === target : entry.containerPort === target,
      ),
    );
    // A numeric targetPort need not be declared as a container port; a named one must be.
    if (!found && typeof target === 'string') {
      problems.push({
        subject: service,
        path: `spec.ports[${String(index)}].targetPort`,
        message: `no selected pod has a container port named ${target}`,
      });
    }
  });
}

/** Problems with the references between the objects of one environment. */
export function referenceProblems(objects: readonly PlacedObject[]): ReferenceProblem[] {
  const env = new EnvironmentObjects(objects);
  const problems: ReferenceProblem[] = [];
  for (const placed of objects) {
    const group = groupOf(placed.object);
    const kind = placed.object.kind;
    if (group === 'gateway.networking.k8s.io' && kind === 'HTTPRoute') {
      checkRoute(placed, env, problems);
    } else if (group === 'inference.networking.k8s.io' && kind === 'InferencePool') {
      checkPool(placed, env, problems);
    } else if (
      group === 'inference.networking.x-k8s.io' &&
      (kind === 'InferenceObjective' || kind === 'InferenceModelRewrite')
    ) {
      checkPoolRef(placed, env, problems);
    } else if (group === '' && kind === 'Service') {
      checkService(placed, env, problems);
    }
  }
  return problems;
}
