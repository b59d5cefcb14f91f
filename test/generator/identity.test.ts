// Priority from the caller's identity, rendered by real helm from the generated Applications: the gateway
// validates tokens and copies the claim into a header the shared endpoint's first filter strips from clients,
// and every model's router reads that header with the profile's claim → objective map (its own flag parser
// reads the rendered arguments).
import { afterAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADER } from '../../generator/platform/settings.ts';
import { validateObject } from '../../generator/verify/objects.ts';
import { isPlatformOnlyHeader } from '../../scheduler/bbr/body-router-stream.ts';
import { parseRouterArgs } from '../../scheduler/service/flags.ts';
import { generatedDevRepo } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';

const repo = generatedDevRepo({
  cloud: { provider: 'generic' },
  accelerators: { 'nvidia-gpu': { resourceName: 'nvidia.com/gpu' } },
  gateway: {
    identity: {
      issuer: 'https://auth.example.com',
      jwksUri: 'https://auth.example.com/.well-known/jwks.json',
      audiences: ['inference'],
      claim: 'tier',
      objectives: { gold: 'premium', free: 'batch' },
      required: true,
    },
  },
});
afterAll(repo.cleanup);

describe('identity-based priority', () => {
  const gateway = (): KubeObject[] => renderedApplication(repo.root, 'dev', 'dev-platform-gateway');

  it('validates tokens at the gateway and copies the claim into a header clients cannot set', () => {
    const objects = gateway();
    const authn = objects.find((o) => o.kind === 'RequestAuthentication') as KubeObject & {
      spec: {
        targetRefs: { kind: string; name: string }[];
        jwtRules: {
          issuer: string;
          audiences: string[];
          forwardOriginalToken: boolean;
          outputClaimToHeaders: { header: string; claim: string }[];
        }[];
      };
    };
    expect(validateObject(authn)).toEqual([]);
    expect(authn.spec.targetRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'inference-gateway' },
    ]);
    const [rule] = authn.spec.jwtRules;
    expect(rule).toMatchObject({ issuer: 'https://auth.example.com', audiences: ['inference'] });
    expect(rule?.forwardOriginalToken).toBe(false);
    expect(rule?.outputClaimToHeaders).toEqual([{ header: IDENTITY_HEADER, claim: 'tier' }]);
    // The shared endpoint's body-based router, the Gateway's first filter, removes it from client requests.
    expect(isPlatformOnlyHeader(IDENTITY_HEADER)).toBe(true);
  });

  it('refuses requests without a token when required, except ACME challenges', () => {
    const policy = gateway().find((o) => o.kind === 'AuthorizationPolicy') as KubeObject & {
      spec: { action: string; rules: unknown[] };
    };
    expect(validateObject(policy)).toEqual([]);
    expect(policy.spec.action).toBe('DENY');
    expect(policy.spec.rules).toEqual([
      {
        from: [{ source: { notRequestPrincipals: ['*'] } }],
        to: [{ operation: { notPaths: ['/.well-known/acme-challenge/*'] } }],
      },
    ]);
  });

  it('gives every model router the header and the claim → objective map, as its own parser reads them', () => {
    const objects = renderedApplication(repo.root, 'dev', 'dev-qwen-basic');
    const deployment = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'qwen-basic-router',
    ) as (KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } }) | undefined;
    const args = deployment?.spec.template.spec.containers[0]?.args ?? [];
    const options = parseRouterArgs(['node', 'router', ...args], {});
    expect(options.identity?.header).toBe(IDENTITY_HEADER);
    expect(Object.fromEntries(options.identity?.objectives ?? [])).toEqual({
      free: 'batch',
      gold: 'premium',
    });
  });
});
