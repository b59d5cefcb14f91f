// Request headers the router itself sets on a routed request, whichever face forwards it. x-prefiller-host-port
// is llm-d's P/D contract: the decode pod's routing sidecar sends the prompt to the prefill endpoint it names
// and pulls the KV cache from there. A client must never choose that host, so when the router picked no
// prefill endpoint the client's header is removed, and when it picked one the client's value is replaced.
import type { Endpoint } from '../core/types.ts';
import { endpointKey } from '../datalayer/endpoint-registry.ts';
import { HEADER } from '../extproc/headers.ts';

export interface RequestHeaderEdits {
  /** Set upstream, replacing every value the client sent under the same name. */
  readonly set: readonly (readonly [name: string, value: string])[];
  /** Removed from the client's request. */
  readonly remove: readonly string[];
}

const DECODE_ONLY: RequestHeaderEdits = { set: [], remove: [HEADER.prefillerHostPort] };

export function requestHeaderEdits(prefill: Endpoint | undefined): RequestHeaderEdits {
  if (prefill === undefined) return DECODE_ONLY;
  // host:port as Go's net.JoinHostPort writes it (IPv6 in brackets), which the sidecar parses.
  return { set: [[HEADER.prefillerHostPort, endpointKey(prefill.address, prefill.port)]], remove: [] };
}
