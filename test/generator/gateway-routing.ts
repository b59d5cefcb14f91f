// Gateway API request matching over generated HTTPRoutes, as an implementation of the spec must do it: among
// the rules of the routes attached to one listener whose matches accept the request, an exact path wins, then
// the longest path prefix, a method match and the most header matches; the winning rule splits its requests
// by backendRef weight.
import type { KubeObject } from './platform/platform-helpers.ts';

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  weight?: number;
}
export interface RouteMatch {
  path: { type: 'PathPrefix' | 'Exact'; value: string };
  method?: string;
  headers?: { type: string; name: string; value: string }[];
}
export interface RouteRule {
  matches: RouteMatch[];
  filters?: { type: string; urlRewrite?: { path: { type: string; replacePrefixMatch: string } } }[];
  backendRefs: BackendRef[];
}
export interface HttpRoute extends KubeObject {
  spec: { rules: RouteRule[] };
}

/** Gateway API path-prefix semantics: the prefix matches whole path elements ("/v1" matches "/v1/x", not "/v10"). */
function prefixMatches(prefix: string, path: string): boolean {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === trimmed || path.startsWith(`${trimmed}/`) || trimmed === '';
}

function matches(match: RouteMatch, path: string, method: string, headers: Record<string, string>): boolean {
  const pathOk =
    match.path.type === 'Exact' ? path === match.path.value : prefixMatches(match.path.value, path);
  return (
    pathOk &&
    (match.method === undefined || match.method === method) &&
    (match.headers ?? []).every((header) => headers[header.name.toLowerCase()] === header.value)
  );
}

export interface RouteDecision {
  readonly rule: RouteRule;
  /** Each backend's share of the requests that match. */
  readonly shares: Record<string, number>;
  /** The path the backend receives (after a ReplacePrefixMatch rewrite). */
  readonly backendPath: string;
}

/**
 * Gateway API rule precedence among the routes of one listener: an exact path match, then the longest path
 * prefix, then a method match, then the most header matches. Undefined when no rule matches (the gateway's 404).
 */
export function decide(
  routes: readonly HttpRoute[],
  path: string,
  headers: Record<string, string>,
  method = 'POST',
): RouteDecision | undefined {
  const candidates = routes.flatMap((route) =>
    route.spec.rules.flatMap((rule) =>
      rule.matches
        .filter((match) => matches(match, path, method, headers))
        .map((match) => ({
          rule,
          match,
          exact: match.path.type === 'Exact' ? 1 : 0,
          prefix: match.path.value.length,
          method: match.method === undefined ? 0 : 1,
          headerCount: match.headers?.length ?? 0,
        })),
    ),
  );
  candidates.sort(
    (a, b) =>
      b.exact - a.exact || b.prefix - a.prefix || b.method - a.method || b.headerCount - a.headerCount,
  );
  const winner = candidates[0];
  if (winner === undefined) return undefined;
  const { rule, match } = winner;
  const total = rule.backendRefs.reduce((sum, ref) => sum + (ref.weight ?? 1), 0);
  const rewrite = rule.filters?.find((filter) => filter.type === 'URLRewrite')?.urlRewrite?.path;
  const backendPath =
    rewrite?.type === 'ReplacePrefixMatch' && match.path.type === 'PathPrefix'
      ? `${rewrite.replacePrefixMatch.replace(/\/$/, '')}/${path.slice(match.path.value.length).replace(/^\//, '')}`
      : path;
  return {
    rule,
    backendPath,
    shares: Object.fromEntries(
      rule.backendRefs.map((ref) => [ref.name, total === 0 ? 0 : (ref.weight ?? 1) / total]),
    ),
  };
}

/** Each backend's share of the requests that match the winning rule ({} when none matches). */
export function split(
  routes: readonly HttpRoute[],
  path: string,
  headers: Record<string, string>,
): Record<string, number> {
  return decide(routes, path, headers)?.shares ?? {};
}
