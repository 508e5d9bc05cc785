/** Run: npm run build && node dist/examples/thread-consumer.js */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrderedItemProducer, TaskQueue, task } from '../lib/index.js';

const tasks = new URL('./seed-b-tasks.js', import.meta.url);
const renderRow = task<[number], string>(tasks, 'renderRow');
const writeRows = task<[Iterable<string>, string], number>(tasks, 'writeRows');

const queue = new TaskQueue({ maxThreads: 2 });
const producer = new OrderedItemProducer<string>({ queue, highWaterMark: 256 });
const path = join(tmpdir(), 'ordered-pool-rows.csv');

// The sink runs in its own thread with a blocking for...of; its pace holds the producer back.
void producer.startInThread(writeRows, path);
for (let id = 0; id < 10_000; id++) {
  await producer.ready();
  void producer.produceItem(renderRow, id);
}
const written = await producer.stop(); // the sink's return value, once its thread has ended
console.log(written, readFileSync(path, 'utf8').split('\n').slice(0, 3)); // 10000 [ '0,0', '1,1', '2,4' ]
await queue.close();
