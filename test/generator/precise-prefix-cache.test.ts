/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// router.prefixCache: precise, rendered by real helm: vLLM publishes its KV-cache events on a port the
// NetworkPolicies open to the model's routers only, the routers dial it (their own flag parser reads the
// rendered arguments) and run the precise producer with real token ids (their own config parser reads the
// ConfigMap), at vLLM's block size.
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kvEventsPort } from '../../generator/normalize/defaults.ts';
import { validateObject } from '../../generator/verify/objects.ts';
import { parseSchedulerConfig } from '../../scheduler/core/config.ts';
import { parseRouterArgs } from '../../scheduler/service/flags.ts';
import { generatedDevRepo } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';
import { servingPod, vllmArgs } from './vllm-pods.ts';

const repo = generatedDevRepo(
  {
    cloud: { provider: 'generic' },
    accelerators: { 'nvidia-gpu': { resourceName: 'nvidia.com/gpu' } },
  },
  { 'qwen-precise': { vllm: { blockSize: 32 }, router: { prefixCache: 'precise' } } },
);
afterAll(repo.cleanup);

const objects = renderedApplication(repo.root, 'dev', 'dev-qwen-precise');
const approximate = renderedApplication(repo.root, 'dev', 'dev-qwen-basic');

interface Container {
  name: string;
  args: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
}
type PolicyPeer = { podSelector?: { matchLabels: Record<string, string> } };
interface NetworkPolicy extends KubeObject {
  spec: {
    ingress?: { from?: PolicyPeer[]; ports?: { port: number }[] }[];
    egress?: { to?: PolicyPeer[]; ports?: { port: number }[] }[];
  };
}

const routerContainer = (rendered: readonly KubeObject[]): Container => {
  const deployment = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-router')) as
    (KubeObject & { spec: { template: { spec: { containers: Container[] } } } }) | undefined;
  return deployment!.spec.template.spec.containers[0]!;
};
const policy = (name: string): NetworkPolicy =>
  objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name) as NetworkPolicy;
const component = (peer: PolicyPeer | undefined): string | undefined =>
  peer?.podSelector?.matchLabels['app.kubernetes.io/component'];

describe('router.prefixCache: precise', () => {
  it("has vLLM bind its KV-cache event publisher, naming the pod in the topic as llm-d's does", () => {
    const pod = servingPod(objects as never);
    const args = vllmArgs(pod);
    const config = args[args.indexOf('--kv-events-config') + 1];
    expect(JSON.parse(config ?? '')).toEqual({
      enable_kv_cache_events: true,
      publisher: 'zmq',
      endpoint: `tcp://*:${String(kvEventsPort)}`,
      topic: 'kv@$(POD_IP):8000@example/qwen-precise',
    });
    const container = pod.spec.containers[0] as unknown as Container;
    expect(container.env?.find((e) => e.name === 'POD_IP')?.valueFrom?.fieldRef?.fieldPath).toBe(
      'status.podIP',
    );
    expect(container.ports).toContainEqual({
      name: 'kv-events',
      containerPort: kvEventsPort,
      protocol: 'TCP',
    });
    expect(vllmArgs(servingPod(approximate as never))).not.toContain('--kv-events-config');
  });

  it('has every router dial that port, as its own flag parser reads the arguments', () => {
    const options = parseRouterArgs(['node', 'router', ...routerContainer(objects).args], {});
    expect(options.kvEventsPort).toBe(kvEventsPort);
    expect(
      parseRouterArgs(['node', 'router', ...routerContainer(approximate).args], {}).kvEventsPort,
    ).toBeUndefined();
  });

  it("runs the precise producer at vLLM's block size on token ids from vLLM, as the router parses it", () => {
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-router')) as
      (KubeObject & { data: Record<string, string> }) | undefined;
    const text = configMap!.data['config.yaml']!;
    const config = parseSchedulerConfig(text, 'config.yaml');
    const types = config.plugins.map((p) => p.type);
    expect(types).not.toContain('approx-prefix-cache-producer');
    expect(config.plugins.find((p) => p.type === 'precise-prefix-cache-producer')?.parameters).toEqual({
      blockSizeTokens: 32,
    });
    expect(config.plugins.find((p) => p.type === 'token-producer')?.parameters).toEqual({ backend: 'vllm' });
    // The default profile's scorers are switchyard's, without placement (the events do not say which blocks
    // begin a prompt): prefix, token-load, prefill-load and endpoint-health.
    expect(config.schedulingProfiles[0]!.plugins.map((r) => r.pluginRef)).toEqual([
      'prefix-cache-scorer',
      'token-load-scorer',
      'prefill-load-scorer',
      'endpoint-health-scorer',
      'max-score-picker',
    ]);
    expect((parse(text) as { apiVersion: string }).apiVersion).toBe('llm-d.ai/v1alpha1');
  });

  it("opens the event port to the model's routers only", () => {
    const vllm = policy('qwen-precise-vllm');
    const router = policy('qwen-precise-router');
    expect(validateObject(vllm)).toEqual([]);
    const ingress = vllm.spec.ingress?.find((rule) => rule.ports?.some((p) => p.port === kvEventsPort));
    expect(ingress?.from?.map(component)).toEqual(['router']);
    const egress = router.spec.egress?.find((rule) => rule.ports?.some((p) => p.port === kvEventsPort));
    expect(egress?.to?.map(component)).toEqual(['vllm']);
    const approximatePolicies = approximate.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[];
    expect(JSON.stringify(approximatePolicies)).not.toContain(String(kvEventsPort));
  });
});
