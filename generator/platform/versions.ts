/** A release version of an upstream component, compared numerically on major.minor.patch. */
export interface SemanticVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

const VERSION_PATTERN = /^v?(\d+)\.(\d+)\.(\d+)$/;

export function parseVersion(text: string): SemanticVersion | undefined {
  const match = VERSION_PATTERN.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function compareVersions(a: SemanticVersion, b: SemanticVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** A half-open range [minimum, below) of versions known to work with the rest of a release. */
export interface VersionRange {
  readonly minimum: string;
  readonly below: string;
}

export function describeRange(range: VersionRange): string {
  return `>= ${range.minimum} and < ${range.below}`;
}

export function isInRange(version: string, range: VersionRange): boolean {
  const parsed = parseVersion(version);
  const minimum = parseVersion(range.minimum);
  const below = parseVersion(range.below);
  if (!parsed || !minimum || !below) return false;
  return compareVersions(parsed, minimum) >= 0 && compareVersions(parsed, below) < 0;
}
