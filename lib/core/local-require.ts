/**
 * This module's URL. A CommonJS bundle (esbuild's default output for `--platform=node`) leaves
 * `import.meta` empty; the bundle's own file stands in for it there.
 */
const meta: { readonly url?: string } = import.meta;
export const HERE: string | undefined = meta.url ?? (typeof __filename === 'string' ? __filename : undefined);

/**
 * `createRequire` reached through `process.getBuiltinModule` (Node 20.16+), not imported: webpack
 * rewrites a `createRequire(x)` whose `x` it cannot work out at build time into `undefined`, which
 * broke every webpack bundle of the library (docs/bundling.md).
 */
export function requireFrom(from: string | URL): NodeJS.Require {
  return process.getBuiltinModule('node:module').createRequire(from);
}

/**
 * require() for the CommonJS packages the library loads synchronously (piscina, denque, comlink,
 * lru-cache): faster than an ES import, which goes through cjs-module-lexer. A bundler leaves
 * these to run time, so they resolve from the installed packages (docs/bundling.md).
 */
export const localRequire: NodeJS.Require = requireFrom(HERE ?? `${process.cwd()}/noop.js`);
