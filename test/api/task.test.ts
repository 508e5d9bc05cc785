import test from 'ava';
import { task, taskLabel } from '../../lib/core/task.js';

test('task() takes a file URL, a file: string or an absolute path', (t) => {
  const byUrl = task(new URL('file:///srv/tasks.js'), 'parse');
  t.is(byUrl.module, 'file:///srv/tasks.js');
  t.is(task('/srv/tasks.js', 'parse').module, 'file:///srv/tasks.js');
  t.is(task('file:///srv/tasks.js').name, 'default');
  t.is(taskLabel(byUrl), 'parse (tasks.js)');
});

test('a relative path or a non-file URL is a TypeError that says what to do', (t) => {
  t.throws(() => task('./tasks.js', 'parse'), {
    instanceOf: TypeError,
    message: /Expected `module` to be a file URL or an absolute path, got `.\/tasks.js` \(string\).*import\.meta\.url/,
  });
  t.throws(() => task(new URL('https://example.com/x.js')), { instanceOf: TypeError });
  t.throws(() => task('/srv/x.js', ''), { instanceOf: TypeError, message: /`name`/ });
});

test('with() returns a new task carrying per-call options and validates them', (t) => {
  const base = task('/srv/tasks.js', 'parse');
  const timed = base.with({ timeout: 50 });
  t.is(timed.options.timeout, 50);
  t.is(base.options.timeout, undefined);
  t.is(timed.with({ signal: AbortSignal.abort() }).options.timeout, 50);
  t.throws(() => base.with({ timeout: -1 }), { instanceOf: TypeError, message: /`timeout`/ });
  t.throws(() => base.with({ signal: 'no' as unknown as AbortSignal }), { instanceOf: TypeError, message: /`signal`/ });
  t.true(Object.isFrozen(base));
});
