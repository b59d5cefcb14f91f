// Binary codecs and gRPC service definitions for the ext_proc and health protocols, built from the embedded
// JSON descriptors (proto/descriptors.generated.ts) so the router needs no .proto files at run time.
import type { ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { protoDescriptors } from './proto/descriptors.generated.ts';
import type {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListResponse,
  ProcessingRequest,
  ProcessingResponse,
} from './messages.ts';

const root = protobuf.Root.fromJSON(protoDescriptors as protobuf.INamespace);

interface Codec<T> {
  readonly encode: (message: T) => Buffer;
  readonly decode: (bytes: Buffer) => T;
}

function codecFor<T>(typeName: string): Codec<T> {
  const type = root.lookupType(typeName);
  return {
    encode: (message) => {
      const bytes = type.encode(message as object).finish();
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode: (bytes) => type.decode(bytes) as unknown as T,
  };
}

export const processingRequestCodec = codecFor<ProcessingRequest>(
  'envoy.service.ext_proc.v3.ProcessingRequest',
);
export const processingResponseCodec = codecFor<ProcessingResponse>(
  'envoy.service.ext_proc.v3.ProcessingResponse',
);
const healthCheckRequestCodec = codecFor<HealthCheckRequest>('grpc.health.v1.HealthCheckRequest');
const healthCheckResponseCodec = codecFor<HealthCheckResponse>('grpc.health.v1.HealthCheckResponse');
const healthListRequestCodec = codecFor<Record<string, never>>('grpc.health.v1.HealthListRequest');
const healthListResponseCodec = codecFor<HealthListResponse>('grpc.health.v1.HealthListResponse');

export const EXT_PROC_SERVICE_NAME = 'envoy.service.ext_proc.v3.ExternalProcessor';

export const externalProcessorService = {
  Process: {
    path: `/${EXT_PROC_SERVICE_NAME}/Process`,
    requestStream: true,
    responseStream: true,
    requestSerialize: processingRequestCodec.encode,
    requestDeserialize: processingRequestCodec.decode,
    responseSerialize: processingResponseCodec.encode,
    responseDeserialize: processingResponseCodec.decode,
    originalName: 'process',
  },
} satisfies ServiceDefinition;

export const healthService = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: healthCheckRequestCodec.encode,
    requestDeserialize: healthCheckRequestCodec.decode,
    responseSerialize: healthCheckResponseCodec.encode,
    responseDeserialize: healthCheckResponseCodec.decode,
    originalName: 'check',
  },
  Watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: healthCheckRequestCodec.encode,
    requestDeserialize: healthCheckRequestCodec.decode,
    responseSerialize: healthCheckResponseCodec.encode,
    responseDeserialize: healthCheckResponseCodec.decode,
    originalName: 'watch',
  },
  List: {
    path: '/grpc.health.v1.Health/List',
    requestStream: false,
    responseStream: false,
    requestSerialize: healthListRequestCodec.encode,
    requestDeserialize: healthListRequestCodec.decode,
    responseSerialize: healthListResponseCodec.encode,
    responseDeserialize: healthListResponseCodec.decode,
    originalName: 'list',
  },
} satisfies ServiceDefinition;
