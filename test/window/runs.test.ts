import test from 'ava';
import { ItemRing, RunQueue, State } from '../../lib/window/window-runs.js';
import { tasks } from '../helpers/index.js';

test('the item ring grows past its capacity and keeps every item at its index, across the wrap', (t) => {
  const ring = new ItemRing(4);
  // Consume a few first, so that head is not 0 and the items wrap around the arrays.
  for (let index = 0; index < 3; index++) ring.add(index);
  ring.head = 3;
  for (let index = 3; index < 40; index++) {
    const at = ring.add(index);
    ring.state[at] = State.Fulfilled;
    ring.value[at] = index * 10;
  }
  t.is(ring.size, 37);
  t.true(ring.mask + 1 >= 37);
  for (let index = 3; index < 40; index++) {
    t.is(ring.value[index & ring.mask], index * 10);
    t.is(ring.state[index & ring.mask], State.Fulfilled);
  }
  t.false(ring.has(2));
  t.true(ring.has(39));
  t.false(ring.has(40));
});

test('queued items join the last run while they continue it, and a call takes them in order', (t) => {
  const queue = new RunQueue();
  for (let index = 0; index < 5; index++) queue.add(tasks.square, index, index, true, undefined, 3);
  // A task.with() variant of the same function joins; another function starts a run.
  queue.add(tasks.square.with({ timeout: 50 }), 5, 5, true, 50, 10);
  queue.add(tasks.add, 6, [1, 2], false, undefined, 10);
  t.is(queue.count, 7);
  t.deepEqual(queue.take(2), { task: tasks.square, first: 0, args: [0, 1], single: true, timeouts: undefined });
  t.deepEqual(queue.take(5).args, [2], 'the first run had three items: cap 3');
  const withTimeout = queue.take(5);
  t.deepEqual([withTimeout.first, withTimeout.args, withTimeout.timeouts], [3, [3, 4, 5], [undefined, undefined, 50]]);
  t.deepEqual(queue.take(5).args, [[1, 2]]);
  t.is(queue.count, 0);
});

test('a list next to one-argument items makes every item of the run a list', (t) => {
  const queue = new RunQueue();
  queue.add(tasks.add, 0, 7, true, undefined, 10);
  queue.add(tasks.add, 1, [1, 2], false, undefined, 10);
  queue.add(tasks.add, 2, 8, true, undefined, 10);
  const run = queue.take(3);
  t.false(run.single);
  t.deepEqual(run.args, [[7], [1, 2], [8]]);
});

test('items taken out of the queue split their runs; runs put back go first', (t) => {
  const queue = new RunQueue();
  for (let index = 0; index < 6; index++) queue.add(tasks.square, index, index, true, undefined, 10);
  queue.remove(2, 2);
  t.is(queue.count, 5);
  queue.remove(5, Infinity);
  t.is(queue.count, 4);
  const retried = { task: tasks.square, first: 9, args: [90], single: true, timeouts: undefined };
  queue.putBack([retried]);
  t.is(queue.count, 5);
  t.deepEqual([queue.take(10).args, queue.take(10).args, queue.take(10).args], [[90], [0, 1], [3, 4]]);
  t.is(queue.count, 0);
  t.is(queue.first, undefined);
});
