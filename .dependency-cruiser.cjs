/**
 * The layering of lib/, checked by `npm run lint` (docs/architecture.md explains it). Imports point
 * down this list, never up:
 *   cli/                       the command line: may use everything below
 *   tools/                     coalesce, named futures, actors, state machines: front doors + engine
 *   api/                       front doors (orderedMap, producer, executor, thread consumer);
 *                              only api/default-queue.ts names a backend
 *   pool/, remote/             backends behind the Dispatcher seam; they know the engine's contract,
 *                              never the front doors or each other
 *   window/                    the ordering engine and the Dispatcher contract
 *   entry/                     what runs inside a thread: wire + core (+ the actor tool it hosts)
 *   wire/                      what both sides of a thread agree on
 *   core/                      errors, validation, tasks, deadlines: imports nothing of ours
 */
const layer = (name) => `^lib/${name}/`;
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import circles anywhere in lib/.', from: {}, to: { circular: true } },
    { name: 'core-is-the-base', severity: 'error', from: { path: layer('core') }, to: { path: '^lib/', pathNot: layer('core') } },
    { name: 'wire-imports-only-core', severity: 'error', from: { path: layer('wire') }, to: { path: '^lib/', pathNot: `${layer('core')}|${layer('wire')}` } },
    {
      name: 'engine-never-imports-a-backend-a-front-door-or-a-tool', severity: 'error',
      from: { path: layer('window') }, to: { path: '^lib/', pathNot: `${layer('core')}|${layer('wire')}|${layer('window')}` },
    },
    {
      name: 'backends-know-only-the-engine-contract', severity: 'error',
      from: { path: '^lib/(pool|remote)/' }, to: { path: '^lib/(api|tools|cli|entry|index)' },
    },
    { name: 'backends-are-independent', severity: 'error', from: { path: layer('pool') }, to: { path: layer('remote') } },
    { name: 'backends-are-independent-too', severity: 'error', from: { path: layer('remote') }, to: { path: layer('pool') } },
    {
      name: 'one-module-picks-the-default-backend', severity: 'error',
      from: { path: layer('api'), pathNot: '^lib/api/default-queue\\.ts$' }, to: { path: '^lib/(pool|remote)/' },
    },
    { name: 'tools-take-any-dispatcher', severity: 'error', from: { path: layer('tools') }, to: { path: '^lib/(pool|remote|cli)/' } },
    { name: 'thread-side-never-imports-the-cli-or-a-backend', severity: 'error', from: { path: layer('entry') }, to: { path: '^lib/(cli|api|pool|remote|window)/' } },
    { name: 'only-the-cli-imports-the-cli', severity: 'error', from: { path: '^lib/', pathNot: layer('cli') }, to: { path: layer('cli') } },
    { name: 'nothing-imports-the-index', severity: 'error', from: { path: '^lib/' }, to: { path: '^lib/(index|bullmq)\\.ts$' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.cts', '.js'] },
  },
};
