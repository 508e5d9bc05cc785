/** Suite 6: payloads, a 1 MiB ArrayBuffer round trip, copied and transferred, one at a time. */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { move } from 'piscina';
import { makePools, TASKS_URL } from './contenders.js';
import { fmt, interleave, ratioText, round, spread, target, type Contender, type RunConfig, type SuiteResult } from './harness.js';
import { task, transfer } from '../lib/index.js';

const SIZE = 1 << 20;

export async function run(config: RunConfig): Promise<SuiteResult> {
  const trips = config.quick ? 100 : 500;
  const pools = makePools();
  const raw = new Worker(new URL('./raw-worker.js', import.meta.url));
  const echo = task<[ArrayBuffer], ArrayBuffer>(TASKS_URL, 'echo');
  const echoTransfer = task<[ArrayBuffer], ArrayBuffer>(TASKS_URL, 'echoTransfer');
  /** Sends one buffer back and forth `trips` times; each trip gets the previous trip's buffer. */
  const contender = (name: string, trip: (buffer: ArrayBuffer) => Promise<ArrayBuffer>): Contender => ({
    name,
    async run() {
      let buffer = new ArrayBuffer(SIZE);
      let bytes = 0;
      for (let i = 0; i < trips; i++) {
        buffer = await trip(buffer);
        bytes += buffer.byteLength;
      }
      return bytes;
    },
  });
  const rawTrip = async (buffer: ArrayBuffer, moved: boolean): Promise<ArrayBuffer> => {
    const answer = once(raw, 'message');
    raw.postMessage({ buffer, move: moved }, moved ? [buffer] : []);
    return (await answer)[0] as ArrayBuffer;
  };
  const names = {
    rawCopy: 'raw postMessage, copied',
    rawMove: 'raw postMessage, transferred',
    piscinaCopy: 'piscina run, copied',
    piscinaMove: 'piscina run, transferred (move)',
    orderedCopy: 'ordered-pool run, copied',
    orderedMove: 'ordered-pool run, transferred (transfer)',
  };
  try {
    const measured = await interleave('transfer', [
      contender(names.rawCopy, (b) => rawTrip(b, false)),
      contender(names.rawMove, (b) => rawTrip(b, true)),
      contender(names.piscinaCopy, (b) => pools.piscina.run(b, { name: 'echo' }) as Promise<ArrayBuffer>),
      contender(names.piscinaMove, (b) => pools.piscina.run(move(b), { name: 'echoMove' }) as Promise<ArrayBuffer>),
      contender(names.orderedCopy, (b) => pools.queue.run(echo, b)),
      contender(names.orderedMove, (b) => pools.queue.run(echoTransfer, transfer(b))),
    ], config);
    const us = (ms: number): number => (ms * 1000) / trips;
    const rawMove = measured.get(names.rawMove)!.median;
    const rawCopy = measured.get(names.rawCopy)!.median;
    return {
      id: 'transfer',
      title: `Payloads: a 1 MiB ArrayBuffer round trip, ${trips} trips in a row`,
      params: { bytes: SIZE, trips, repeats: config.repeats },
      headers: ['contender', 'µs/round trip min / median / max', 'vs raw transfer', 'vs raw copy'],
      rows: [...measured].map(([name, s]) => [name, spread(s, us), ratioText(s.median / rawMove), ratioText(s.median / rawCopy)]),
      figures: Object.fromEntries([...measured].map(([name, s]) => [name, {
        usPerRoundTrip: round(us(s.median), 2),
        usMin: round(us(s.min), 2),
        usMax: round(us(s.max), 2),
      }])),
      targets: [
        target('transfer-vs-raw', measured.get(names.orderedMove)!.median / rawMove, '<=', 1.2,
          'ordered-pool run with transfer(): round-trip time over raw postMessage with a transfer list'),
      ],
      notes: [`raw transfer: ${fmt(us(rawMove))} µs per round trip on this machine`],
    };
  } finally {
    await Promise.all([pools.close(), raw.terminate()]);
  }
}
