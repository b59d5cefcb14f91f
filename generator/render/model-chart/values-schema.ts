// values.schema.json of a model chart, built from the input schemas so that Helm rejects the same bad
// values the generator would.
import { modelSchema, platformSchema } from '../../validate/schemas.ts';

type Schema = Record<string, unknown>;

function at(schema: Schema, pointer: string): Schema {
  let node: unknown = schema;
  for (const segment of pointer.split('/').slice(1)) {
    node = (node as Record<string, unknown>)[segment];
    if (node === undefined) {
      throw new Error(`schema pointer ${pointer} not found`);
    }
  }
  return node as Schema;
}

const modelProperty = (path: string): Schema =>
  at(modelSchema, `/properties/${path.split('.').join('/properties/')}`);

function object(properties: Record<string, Schema>, optional: readonly string[] = []): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    properties,
  };
}

const quantity = { $ref: '#/$defs/quantity' };
const image = { $ref: '#/$defs/image' };
const dnsLabel = { $ref: '#/$defs/dnsLabel' };
const integer = (minimum: number): Schema => ({ type: 'integer', minimum });

export function modelValuesSchema(): Schema {
  const modelDefs = modelSchema.$defs as Schema;
  const platformDefs = platformSchema.$defs as Schema;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Switchyard model chart values',
    ...object({
      model: object(
        {
          uri: modelProperty('model.uri'),
          servedName: modelProperty('model.servedName'),
          source: {
            type: 'object',
            additionalProperties: false,
            required: ['kind'],
            properties: {
              kind: { enum: ['hf', 'pvc', 'oci'] },
              repository: { type: 'string', minLength: 1 },
              revision: modelProperty('model.revision'),
              claim: dnsLabel,
              path: { type: 'string', minLength: 1 },
              reference: { type: 'string', minLength: 1 },
            },
          },
          hfTokenSecret: object({
            name: at(modelSchema, '/properties/model/properties/hfTokenSecret/properties/name'),
            key: at(modelSchema, '/properties/model/properties/hfTokenSecret/properties/key'),
          }),
        },
        ['hfTokenSecret'],
      ),
      vllm: object({
        image,
        replicas: modelProperty('replicas'),
        args: { type: 'array', items: { type: 'string', minLength: 1 } },
        hashSeed: modelProperty('vllm.hashSeed'),
        gpuResource: at(
          platformSchema,
          '/properties/accelerators/additionalProperties/properties/resourceName',
        ),
        gpus: integer(1),
        resources: object({ cpu: quantity, memory: quantity }),
        nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
        tolerations: { type: 'array', items: { $ref: '#/$defs/toleration' } },
        shmSize: quantity,
        cacheSize: quantity,
        startupFailureThreshold: integer(1),
        terminationGracePeriodSeconds: integer(0),
        preStopSleepSeconds: integer(0),
      }),
      router: object({
        image,
        replicas: modelProperty('router.replicas'),
        failureMode: modelProperty('router.failureMode'),
        resources: object({ cpu: quantity, memory: quantity }),
        config: {
          type: 'object',
          required: ['apiVersion', 'kind', 'plugins', 'schedulingProfiles'],
          properties: {
            apiVersion: { const: 'llm-d.ai/v1alpha1' },
            kind: { const: 'EndpointPickerConfig' },
            plugins: { type: 'array', minItems: 1, items: { type: 'object', required: ['type'] } },
            schedulingProfiles: {
              type: 'array',
              minItems: 1,
              items: { type: 'object', required: ['name', 'plugins'] },
            },
          },
        },
        tls: object({ issuer: at(platformSchema, '/properties/pki/properties/caIssuer') }),
      }),
      route: object({
        gateway: object({ name: dnsLabel, namespace: dnsLabel, sectionName: dnsLabel }, ['sectionName']),
        requestTimeout: modelProperty('route.requestTimeout'),
      }),
      objectives: {
        type: 'array',
        items: object({
          name: dnsLabel,
          priority: at(modelSchema, '/properties/objectives/items/properties/priority'),
        }),
      },
      aliases: { type: 'array', items: at(modelSchema, '/properties/aliases/items/properties/name') },
      monitoring: object({
        enabled: { type: 'boolean' },
        namespace: dnsLabel,
        interval: at(platformSchema, '/properties/monitoring/properties/interval'),
      }),
    }),
    $defs: {
      quantity: modelDefs.quantity,
      image: modelDefs.image,
      dnsLabel: modelDefs.dnsLabel,
      toleration: platformDefs.toleration,
    },
  };
}
