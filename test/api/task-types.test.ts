/**
 * Tasks typed from their module: `task<typeof import('./tasks.js'), 'name'>`. The type checks here
 * are checked by tsc when the tests compile (a `@ts-expect-error` that is not an error fails the
 * build); the run checks that such a task is an ordinary one.
 */
import test from 'ava';
import { task, type Task } from '../../lib/core/task.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { collect } from '../helpers/index.js';

type Tasks = typeof import('../fixtures/tasks.js');
const url = new URL('../fixtures/tasks.js', import.meta.url);

/** Compiles only when X and Y are the same type. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the usual exact-equality trick
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
const same = <X, Y>(proof: Equal<X, Y>): Equal<X, Y> => proof;

test('types follow the exported function: arguments, awaited result, and only names of functions', async (t) => {
  const square = task<Tasks, 'square'>(url, 'square');
  const add = task<Tasks, 'add'>(url, 'add');
  const delayed = task<Tasks, 'delayed'>(url, 'delayed');
  same<typeof square, Task<[x: number], number>>(true);
  same<typeof add, Task<[a: number, b: number], number>>(true);
  // An async function's task yields the awaited value.
  same<typeof delayed, Task<[readonly [number, number]], number>>(true);
  t.is(delayed.name, 'delayed');
  same<typeof square, Task<[x: number], string>>(false);

  // @ts-expect-error a misspelt export name does not compile
  task<Tasks, 'sqaure'>(url, 'sqaure');
  // @ts-expect-error an export that is not a function is no task
  task<Tasks, 'notAFunction'>(url, 'notAFunction');
  // @ts-expect-error the name given must be the one in the type
  task<Tasks, 'square'>(url, 'add');

  const queue = new TaskQueue({ maxThreads: 1 });
  try {
    // @ts-expect-error arguments are checked against the function's
    void queue.run(add, 1, 'two').catch(() => undefined);
    const sum: number = await queue.run(add, 2, 3);
    t.is(sum, 5);
    const squares: number[] = await collect(orderedMap([1, 2, 3], square, { queue }));
    t.deepEqual(squares, [1, 4, 9]);
    // The explicit form still works as before.
    t.is(await queue.run(task<[number], number>(url, 'square'), 4), 16);
  } finally {
    await queue.close();
  }
});
