export interface OutputFile {
  /** Repository-relative path under charts/ or apps/, forward slashes. */
  readonly path: string;
  readonly content: string;
  /** Set when the file belongs to one environment only (generate --env NAME rewrites only its own files). */
  readonly environment?: string;
  /** The Kubernetes objects serialized into this file, validated before anything is written. */
  readonly objects?: readonly unknown[];
}
