import { setTimeout as sleep } from 'node:timers/promises';
import { NamedFutures, FutureNotSubmittedError } from '../../lib/index.js';

const futures = new NamedFutures<string>({ ttl: 60_000, maxEntries: 1000 });

async function buildReport(id: string): Promise<string> {
  await sleep(50); // slow work
  return `report #${id}`;
}

// A request handler that must answer now: the first passes get a placeholder.
function view(id: string): string {
  return futures.resultOrSubmit(`report:${id}`, 'Your report is being prepared…', buildReport, id);
}

console.log(view('42')); // Your report is being prepared…
console.log(view('42')); // Your report is being prepared… (no second run)
await futures.wait('report:42', { timeout: 5000 });
console.log(view('42')); // report #42

try {
  futures.result('report:7');
} catch (error) {
  console.log(error instanceof FutureNotSubmittedError, (error as FutureNotSubmittedError).code); // true ERR_FUTURE_NOT_SUBMITTED
}
