// TypeScript shapes of the ext_proc and health messages (proto/*.proto), as protobufjs decodes and encodes
// them: camelCase field names, `bytes` as Uint8Array, enums as numbers. Decoded messages may carry null for
// absent sub-messages, so every read side field is optional and nullable.

export interface HeaderValue {
  readonly key: string;
  readonly value?: string | null;
  readonly rawValue?: Uint8Array | null;
}

export interface HeaderMap {
  readonly headers?: readonly HeaderValue[] | null;
}

/** google.protobuf.Value */
export interface ProtoValue {
  readonly nullValue?: number | null;
  readonly numberValue?: number | null;
  readonly stringValue?: string | null;
  readonly boolValue?: boolean | null;
  readonly structValue?: ProtoStruct | null;
  readonly listValue?: { readonly values?: readonly ProtoValue[] | null } | null;
}

/** google.protobuf.Struct */
export interface ProtoStruct {
  readonly fields?: Readonly<Record<string, ProtoValue>> | null;
}

export interface Metadata {
  readonly filterMetadata?: Readonly<Record<string, ProtoStruct>> | null;
}

export interface HttpHeaders {
  readonly headers?: HeaderMap | null;
  readonly endOfStream?: boolean | null;
}

export interface HttpBody {
  readonly body?: Uint8Array | null;
  readonly endOfStream?: boolean | null;
}

export interface HttpTrailers {
  readonly trailers?: HeaderMap | null;
}

/** envoy.service.ext_proc.v3.BodySendMode */
export const BodySendMode = {
  NONE: 0,
  STREAMED: 1,
  BUFFERED: 2,
  BUFFERED_PARTIAL: 3,
  FULL_DUPLEX_STREAMED: 4,
} as const;

export interface ProtocolConfiguration {
  readonly requestBodyMode?: number | null;
  readonly responseBodyMode?: number | null;
}

export interface ProcessingRequest {
  readonly requestHeaders?: HttpHeaders | null;
  readonly responseHeaders?: HttpHeaders | null;
  readonly requestBody?: HttpBody | null;
  readonly responseBody?: HttpBody | null;
  readonly requestTrailers?: HttpTrailers | null;
  readonly responseTrailers?: HttpTrailers | null;
  readonly metadataContext?: Metadata | null;
  readonly observabilityMode?: boolean | null;
  readonly protocolConfig?: ProtocolConfiguration | null;
}

/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction */
export const HeaderAppendAction = {
  APPEND_IF_EXISTS_OR_ADD: 0,
  ADD_IF_ABSENT: 1,
  OVERWRITE_IF_EXISTS_OR_ADD: 2,
  OVERWRITE_IF_EXISTS: 3,
} as const;

export interface HeaderValueOption {
  readonly header: HeaderValue;
  readonly appendAction?: number;
}

export interface HeaderMutation {
  readonly setHeaders?: readonly HeaderValueOption[];
  readonly removeHeaders?: readonly string[];
}

export interface StreamedBodyResponse {
  readonly body: Uint8Array;
  readonly endOfStream: boolean;
}

export interface BodyMutation {
  readonly body?: Uint8Array;
  readonly clearBody?: boolean;
  readonly streamedResponse?: StreamedBodyResponse;
}

export interface CommonResponse {
  readonly status?: number;
  readonly headerMutation?: HeaderMutation;
  readonly bodyMutation?: BodyMutation;
  readonly clearRouteCache?: boolean;
}

export interface HeadersResponse {
  readonly response?: CommonResponse;
}

export interface BodyResponse {
  readonly response?: CommonResponse;
}

export interface TrailersResponse {
  readonly headerMutation?: HeaderMutation;
}

export interface ImmediateResponse {
  readonly status: { readonly code: number };
  readonly headers?: HeaderMutation;
  readonly body?: Uint8Array;
  readonly details?: string;
}

export interface ProcessingResponse {
  readonly requestHeaders?: HeadersResponse;
  readonly responseHeaders?: HeadersResponse;
  readonly requestBody?: BodyResponse;
  readonly responseBody?: BodyResponse;
  readonly requestTrailers?: TrailersResponse;
  readonly responseTrailers?: TrailersResponse;
  readonly immediateResponse?: ImmediateResponse;
  readonly dynamicMetadata?: ProtoStruct;
}

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatusValue = (typeof ServingStatus)[keyof typeof ServingStatus];

export interface HealthCheckRequest {
  readonly service?: string | null;
}

export interface HealthCheckResponse {
  readonly status: number;
}

export interface HealthListResponse {
  readonly statuses: Readonly<Record<string, HealthCheckResponse>>;
}
