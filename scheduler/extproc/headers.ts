// Reading Envoy header maps and building header mutations. Envoy sends header values in `raw_value` (bytes)
// on current versions and in `value` on older ones; both are accepted. Mutations are always sent as
// `raw_value` with OVERWRITE_IF_EXISTS_OR_ADD so a client-supplied header of the same name is replaced.
import type { HeaderMap, HeaderValueOption } from './messages.ts';
import { HeaderAppendAction } from './messages.ts';

export type RequestHeaders = ReadonlyMap<string, string>;

export function readHeaderMap(map: HeaderMap | null | undefined): Map<string, string> {
  const headers = new Map<string, string>();
  for (const header of map?.headers ?? []) {
    const raw = header.rawValue;
    const value =
      raw != null && raw.length > 0
        ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
        : (header.value ?? '');
    const key = header.key.toLowerCase();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous},${value}`);
  }
  return headers;
}

/** The first non-empty value among several header names (current name first, then its aliases). */
export function firstHeader(headers: RequestHeaders, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== undefined && value !== '') {
      return value;
    }
  }
  return undefined;
}

export function setHeader(key: string, value: string): HeaderValueOption {
  return {
    header: { key, rawValue: Buffer.from(value, 'utf8') },
    appendAction: HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
  };
}

/** Header names of the protocol (llm-d names first, Gateway API Inference Extension aliases after). */
export const HEADER = {
  requestId: 'x-request-id',
  objective: ['x-llm-d-inference-objective', 'x-gateway-inference-objective'],
  fairness: ['x-llm-d-inference-fairness-id', 'x-gateway-inference-fairness-id'],
  modelRewrite: ['x-llm-d-model-name-rewrite', 'x-gateway-model-name-rewrite'],
  sessionId: 'x-session-id',
  destinationEndpoint: 'x-gateway-destination-endpoint',
  droppedReason: 'x-llm-d-request-dropped-reason',
  /** Set only by the router (see lifecycle/request-headers.ts). */
  prefillerHostPort: 'x-prefiller-host-port',
  path: [':path', 'x-original-path', 'x-forwarded-path'],
} as const;

/** Dynamic-metadata namespaces and keys shared with the gateway. */
export const METADATA = {
  lbNamespace: 'envoy.lb',
  destinationEndpointKey: 'x-gateway-destination-endpoint',
  servedEndpointKey: 'x-gateway-destination-endpoint-served',
  subsetNamespace: 'envoy.lb.subset_hint',
  subsetKey: 'x-gateway-destination-endpoint-subset',
} as const;
