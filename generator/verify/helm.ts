import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The helm binary the project installs at `npm ci` time. */
export const helmBinary = fileURLToPath(new URL('../../.tools/bin/helm', import.meta.url));

/**
 * helm processes to run at once: one per core and one more, because the main thread's synchronous spawn and
 * its parsing of each rendered output leave a core idle between runs.
 */
export function defaultHelmConcurrency(): number {
  return availableParallelism() + 1;
}

export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/**
 * helm's environment. A render is short-lived and peaks at about 70 MB even without garbage collection, while
 * Go's collector costs about a quarter of its CPU time, which validate's hundreds of runs pay on every core: so
 * collection is off unless the caller's environment sets GOGC. The output does not depend on it.
 */
export function helmEnvironment(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...environment, HELM_NO_PLUGINS: '1', GOGC: environment['GOGC'] ?? 'off' };
}

export function runHelm(args: readonly string[]): Promise<HelmResult> {
  if (!existsSync(helmBinary)) {
    return Promise.resolve({
      ok: false,
      stdout: '',
      stderr: `helm is not installed at .tools/bin/helm (run npm ci)`,
    });
  }
  return new Promise((resolve) => {
    execFile(
      helmBinary,
      [...args],
      { maxBuffer: 256 * 1024 * 1024, env: helmEnvironment(process.env) },
      (error, stdout, stderr) => {
        resolve({ ok: error === null, stdout, stderr });
      },
    );
  });
}

/** One document of `helm template` output and the template file it came from (`# Source:` comment). */
export interface RenderedDocument {
  source: string;
  text: string;
}

/** Splits `helm template` output into documents, keeping each one's `# Source:` template path. */
export function splitRenderedDocuments(output: string): RenderedDocument[] {
  const documents: RenderedDocument[] = [];
  for (const chunk of output.split(/^---[ \t]*$/m)) {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    const body = chunk.replace(/^#.*$/gm, '').trim();
    if (body === '') {
      continue;
    }
    documents.push({ source: source ?? '(unknown template)', text: chunk });
  }
  return documents;
}

/** The documents of `helm template` output for a chart of this repository, sources as repository paths. */
export function chartDocuments(output: string, chartDir: string): RenderedDocument[] {
  // helm names sources `<chart name>/templates/…`.
  const chartName = /^# Source: ([^/]+)\//m.exec(output)?.[1];
  return splitRenderedDocuments(output).map((document) => ({
    text: document.text,
    source:
      chartName !== undefined && document.source.startsWith(`${chartName}/`)
        ? posix.join(chartDir, document.source.slice(chartName.length + 1))
        : document.source,
  }));
}
