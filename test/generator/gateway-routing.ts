// Gateway API request matching over generated HTTPRoutes, as an implementation of the spec must do it: among
// the rules of the routes attached to one listener whose matches accept the request, the longest path prefix
// wins, then the most header matches; the winning rule splits its requests by backendRef weight.
import type { KubeObject } from './platform/platform-helpers.ts';

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  weight?: number;
}
export interface RouteRule {
  matches: {
    path: { type: string; value: string };
    headers?: { type: string; name: string; value: string }[];
  }[];
  backendRefs: BackendRef[];
}
export interface HttpRoute extends KubeObject {
  spec: { rules: RouteRule[] };
}

/**
 * Gateway API rule precedence among routes of one listener, for a path-prefix request: the longest matching
 * prefix, then the most header matches. Returns each pool's share of the requests that match.
 */
export function split(
  routes: readonly HttpRoute[],
  path: string,
  headers: Record<string, string>,
): Record<string, number> {
  const candidates = routes.flatMap((route) =>
    route.spec.rules.flatMap((rule) =>
      rule.matches
        .filter(
          (match) =>
            path.startsWith(match.path.value) &&
            (match.headers ?? []).every((header) => headers[header.name] === header.value),
        )
        .map((match) => ({ rule, prefix: match.path.value.length, headerCount: match.headers?.length ?? 0 })),
    ),
  );
  candidates.sort((a, b) => b.prefix - a.prefix || b.headerCount - a.headerCount);
  const winner = candidates[0]?.rule;
  if (winner === undefined) return {};
  const total = winner.backendRefs.reduce((sum, ref) => sum + (ref.weight ?? 1), 0);
  return Object.fromEntries(
    winner.backendRefs.map((ref) => [ref.name, total === 0 ? 0 : (ref.weight ?? 1) / total]),
  );
}
