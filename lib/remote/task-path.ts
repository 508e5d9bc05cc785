/**
 * Task modules travel as paths relative to a root folder, so that one project deployed at
 * different places on two machines names its tasks the same way, and so that whoever can write to
 * the queue cannot make a worker load a file outside its `--root`.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskLoadError } from '../core/errors.js';

/** A folder given as a `file:` URL or a path, as an absolute path. */
export function rootPath(root: URL | string): string {
  if (root instanceof URL || root.startsWith('file:')) return fileURLToPath(root);
  return resolve(root);
}

function outside(path: string): boolean {
  return path === '' || isAbsolute(path) || path === '..' || path.startsWith(`..${sep}`);
}

/** `module` (a `file:` URL) relative to `root`, with `/` separators; undefined when it is not under `root`. */
export function taskPathUnder(root: string, module: string): string | undefined {
  const path = relative(root, fileURLToPath(module));
  return outside(path) ? undefined : path.split(sep).join('/');
}

/** A URL scheme (`file:`, `data:`, `https:`) or a drive letter. */
const SCHEME = /^[a-z][a-z\d+.-]*:/i;

/**
 * The `file:` URL of the module a job names, or a `TaskLoadError` when the path could leave
 * `root`: `..` anywhere, an absolute path, a URL, a NUL byte.
 */
export function resolveTaskPath(root: string, path: unknown, exportName: string): string | TaskLoadError {
  const refuse = (why: string): TaskLoadError => new TaskLoadError(String(path), exportName, why);
  if (typeof path !== 'string' || path === '') return refuse('the job names no module');
  if (path.includes('\0') || SCHEME.test(path) || isAbsolute(path) || path.startsWith('\\')) {
    return refuse("a job may only name a module by a path relative to the worker's --root");
  }
  if (path.split(/[\\/]/).includes('..')) return refuse("a module path may not contain '..'");
  const file = resolve(root, path);
  if (outside(relative(root, file))) return refuse("the module is outside the worker's --root");
  return pathToFileURL(file).href;
}
