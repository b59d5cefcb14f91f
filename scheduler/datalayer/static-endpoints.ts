// A fixed endpoint list for local use (`--static-endpoints 127.0.0.1:8000,127.0.0.1:8001`).
import { endpointKey, type EndpointTarget } from './endpoint-registry.ts';

/** Parses "host:port[,host:port…]"; IPv6 addresses are written in brackets ("[::1]:8000"). */
export function parseStaticEndpoints(spec: string): EndpointTarget[] {
  const targets: EndpointTarget[] = [];
  const seen = new Set<string>();
  const items = spec.split(',').map((s) => s.trim());
  items.forEach((item, index) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(item);
    const address = m?.[1] ?? m?.[2];
    const port = Number(m?.[3]);
    if (m === null || address === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(
        `--static-endpoints item ${index + 1} ("${item}"): expected host:port with a port in 1..65535`,
      );
    }
    const key = endpointKey(address, port);
    if (seen.has(key)) {
      throw new Error(`--static-endpoints item ${index + 1} ("${item}"): duplicate endpoint`);
    }
    seen.add(key);
    targets.push({ key, address, port, labels: {} });
  });
  return targets;
}
