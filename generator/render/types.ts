import type { NormalizedEnvironment } from '../normalize/types.ts';

export interface OutputFile {
  /** Repository-relative path under charts/ or apps/, forward slashes. */
  readonly path: string;
  readonly content: string;
  /** Set when the file belongs to one environment only (generate --env NAME rewrites only its own files). */
  readonly environment?: string;
  /** The Kubernetes objects serialized into this file, validated before anything is written. */
  readonly objects?: readonly unknown[];
}

/** Renders the files of one environment. */
export type EnvironmentRenderer = (env: NormalizedEnvironment) => OutputFile[];

/** Renders files that depend on several environments at once (a model chart covers all its environments). */
export type RepositoryRenderer = (envs: readonly NormalizedEnvironment[]) => OutputFile[];
