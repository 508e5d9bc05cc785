/**
 * The file piscina loads in each thread. piscina require()s its worker file, and Node 20 would
 * then load the ES module runner synchronously (require(esm)). A thread ended while that is under
 * way aborts the whole process (`FATAL ERROR: v8::Module::IsGraphAsync`), as a Ctrl-C in the CLI
 * can, ending threads that piscina is starting in place of stopped ones (docs/design.md). This CommonJS
 * file loads the runner with import() instead, and a thread can be ended under that safely.
 */
const runner = import('./batch-runner.js');
// A runner that fails to load fails the first call with its error; not an unhandled rejection.
runner.catch(() => undefined);

type RunPoolCall = Awaited<typeof runner>['default'];

async function runPoolCall(request: Parameters<RunPoolCall>[0]): ReturnType<RunPoolCall> {
  const { default: run } = await runner;
  return run(request);
}

export = runPoolCall;
