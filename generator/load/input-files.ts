// Reads input files without following symbolic links: an input is a regular file inside the repository, so an
// error message can only ever quote the repository's own text.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { InputProblem } from '../errors.ts';
import { sizeProblem, yamlLimits } from './yaml-source.ts';

export type InputFileResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly missing: boolean; readonly problem: InputProblem };

/** Said of any symbolic link among the inputs (the link's target is never read). */
export const linkMessage =
  'expected a regular file or directory inside the repository, not a symbolic link (links are not followed)';

/**
 * The kind of `relative` (a repository-relative path) without following links, checking every directory on
 * the way: 'link' when any of them or the entry itself is a symbolic link.
 */
export function entryKind(
  root: string,
  relative: string,
): 'missing' | 'link' | 'file' | 'directory' | 'other' {
  const parts = relative.split('/');
  for (let index = 1; index <= parts.length; index += 1) {
    let stats;
    try {
      stats = lstatSync(join(root, ...parts.slice(0, index)));
    } catch {
      return 'missing';
    }
    if (stats.isSymbolicLink()) return 'link';
    if (index === parts.length) {
      return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
    }
  }
  return 'missing';
}

/** Reads a repository-relative input file, refusing links and reading no more than the size limit allows. */
export function readInputFile(root: string, relative: string): InputFileResult {
  const kind = entryKind(root, relative);
  const fail = (missing: boolean, message: string): InputFileResult => ({
    ok: false,
    missing,
    problem: { file: relative, line: 1, column: 1, pointer: '', message },
  });
  if (kind === 'missing') return fail(true, 'expected this file to exist (file not found)');
  if (kind === 'link') return fail(false, linkMessage);
  if (kind !== 'file') return fail(false, 'expected a regular file');
  // O_NOFOLLOW: the file cannot be swapped for a link between the check above and the read.
  const fd = openSync(join(root, relative), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, yamlLimits.maxBytes);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = readSync(fd, buffer, read, length - read, read);
      if (n === 0) break;
      read += n;
    }
    const text = buffer.subarray(0, read).toString('utf8');
    return size > yamlLimits.maxBytes
      ? { ok: false, missing: false, problem: sizeProblem(relative, text, size) }
      : { ok: true, text };
  } finally {
    closeSync(fd);
  }
}
