/**
 * The file piscina loads in each thread. piscina require()s its worker file, and Node 20 would
 * then load the ES module runner synchronously (require(esm)). A thread ended while that is under
 * way aborts the whole process (`FATAL ERROR: v8::Module::IsGraphAsync`), which a Ctrl-C in the
 * CLI once did, ending threads that piscina was starting in place of stopped ones. This CommonJS
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
