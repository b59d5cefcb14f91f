import { describe, expect, it } from 'vitest';
import {
  ACCELERATOR_TYPES,
  acceleratorPlacement,
  CLOUD_IDS,
  CLOUD_PROFILES,
  cloudAcceleratorPlacement,
  loadBalancerAnnotations,
  supportedAccelerators,
} from '../../../generator/platform/clouds.ts';

describe('cloud profiles', () => {
  it('place an L4 on EKS by its GPU feature-discovery label with the GPU taint tolerated (the example prod)', () => {
    expect(acceleratorPlacement('eks', 'nvidia-l4')).toEqual({
      resourceName: 'nvidia.com/gpu',
      nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-L4' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      gpusPerNode: 4,
      groupTopologyKey: 'eks.amazonaws.com/nodegroup',
    });
  });

  it('use each cloud’s own accelerator labels and taints', () => {
    expect(acceleratorPlacement('gke', 'nvidia-l4')?.nodeSelector).toEqual({
      'cloud.google.com/gke-accelerator': 'nvidia-l4',
    });
    expect(acceleratorPlacement('aks', 'nvidia-h100-80gb')?.tolerations).toEqual([
      { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
    ]);
    expect(acceleratorPlacement('generic', 'amd-mi300x')?.resourceName).toBe('amd.com/gpu');
    expect(acceleratorPlacement('gke', 'nvidia-a10g')).toBeUndefined();
    expect(cloudAcceleratorPlacement('eks', 'tpu-v5')).toBeUndefined();
    expect(cloudAcceleratorPlacement('moon', 'nvidia-l4')).toBeUndefined();
  });

  it('offer every accelerator type on at least one cloud and any NVIDIA GPU everywhere', () => {
    for (const type of ACCELERATOR_TYPES) {
      expect(
        CLOUD_IDS.some((cloud) => supportedAccelerators(cloud).includes(type)),
        type,
      ).toBe(true);
    }
    for (const cloud of CLOUD_IDS) expect(supportedAccelerators(cloud)).toContain('nvidia-gpu');
  });

  it('return copies, so callers cannot change a profile', () => {
    const placement = acceleratorPlacement('eks', 'nvidia-l4');
    (placement?.nodeSelector as Record<string, string>)['x'] = 'y';
    expect(acceleratorPlacement('eks', 'nvidia-l4')?.nodeSelector).not.toHaveProperty('x');
    const annotations = loadBalancerAnnotations('eks', 'external');
    annotations['x'] = 'y';
    expect(CLOUD_PROFILES.eks.loadBalancerAnnotations.external).not.toHaveProperty('x');
  });

  it('make internal gateways internal on every cloud with a managed load balancer', () => {
    expect(
      loadBalancerAnnotations('eks', 'internal')['service.beta.kubernetes.io/aws-load-balancer-scheme'],
    ).toBe('internal');
    expect(
      loadBalancerAnnotations('aks', 'internal')['service.beta.kubernetes.io/azure-load-balancer-internal'],
    ).toBe('true');
    expect(loadBalancerAnnotations('gke', 'internal')['networking.gke.io/load-balancer-type']).toBe(
      'Internal',
    );
  });
});
