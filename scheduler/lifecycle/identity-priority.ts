// The priority of a request when the gateway vouches for who sent it. The gateway validates the caller's token
// and copies one claim into a request header (the client's own value of that header never gets this far: the
// gateway's first filter strips it). The claim's value maps to an InferenceObjective, whose priority is the
// highest the caller may use; a caller may still ask for a lower one (its batch work, say) in the objective
// header. Without a mapped identity, a request may ask for any objective up to priority 0.

export interface IdentityObjectives {
  /** Lower-case name of the header the gateway sets from the verified claim. */
  readonly header: string;
  /** Claim value → InferenceObjective name. */
  readonly objectives: ReadonlyMap<string, string>;
}

/** Priority of an anonymous or unmapped caller's ceiling: that of a request naming no objective. */
const UNMAPPED_CEILING = 0;

export function requestPriority(
  clientObjective: string | undefined,
  identityClass: string | undefined,
  identity: IdentityObjectives | undefined,
  priorityOf: (objective: string) => number | undefined,
): number {
  const asked = clientObjective === undefined ? undefined : priorityOf(clientObjective);
  if (identity === undefined) return asked ?? 0;
  const mapped = identityClass === undefined ? undefined : identity.objectives.get(identityClass);
  const ceiling = mapped === undefined ? UNMAPPED_CEILING : (priorityOf(mapped) ?? UNMAPPED_CEILING);
  return asked !== undefined && asked <= ceiling ? asked : ceiling;
}

/** "gold=premium,free=batch" → the map; throws naming the flag on a malformed entry. */
export function parseIdentityObjectives(text: string, flag: string): ReadonlyMap<string, string> {
  const objectives = new Map<string, string>();
  for (const entry of text.split(',').map((item) => item.trim())) {
    const match = /^([^=\s]+)=([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(entry);
    if (match === null) {
      throw new Error(
        `${flag}: expected claim=objective pairs such as gold=premium,free=batch, got "${entry}"`,
      );
    }
    const [, claim = '', objective = ''] = match;
    if (objectives.has(claim)) throw new Error(`${flag}: claim value "${claim}" is mapped twice`);
    objectives.set(claim, objective);
  }
  return objectives;
}
