import { createRequire } from 'node:module';

/**
 * This module's URL. A CommonJS bundle (esbuild's default output for `--platform=node`) leaves
 * `import.meta` empty; the bundle's own file stands in for it there.
 */
const meta: { readonly url?: string } = import.meta;
export const HERE: string | undefined = meta.url ?? (typeof __filename === 'string' ? __filename : undefined);

/**
 * require() for the CommonJS packages the library loads synchronously (piscina, denque, comlink,
 * lru-cache): faster than an ES import, which goes through cjs-module-lexer. A bundler leaves
 * these to run time, so they resolve from the installed packages (docs/bundling.md).
 */
export const localRequire: NodeJS.Require = createRequire(HERE ?? `${process.cwd()}/noop.js`);
