import test from 'ava';
import { BatchSizer } from '../../lib/window/batch-sizer.js';

test('the first call carries one item: nothing is known of the task yet', (t) => {
  t.is(new BatchSizer(1024, { concurrency: 4 }, undefined).limit, 1);
});

test('a batch aims at ~20 ms of measured run time, within a fair share of the window', (t) => {
  const sizer = new BatchSizer(1024, { concurrency: 4 }, undefined);
  sizer.record(1, 1); // 1 ms per item
  t.is(sizer.limit, 20);
  const quick = new BatchSizer(1024, { concurrency: 4 }, undefined);
  quick.record(0.01, 1); // 10 µs per item: 2,000 wanted, the fair share is 1024 / 4
  t.is(quick.limit, 256);
});

test('items faster than the main thread hands them over get half the window a call, more than a fair share', (t) => {
  const sizer = new BatchSizer(1024, { concurrency: 4 }, undefined);
  sizer.record(0.01, 1000); // 0.01 µs per item: a fair-share batch would run for under 3 µs
  t.is(sizer.limit, 512);
  const small = new BatchSizer(100, { concurrency: 4 }, undefined);
  small.record(0.001, 100);
  t.is(small.limit, 50);
  const one = new BatchSizer(1, { concurrency: 4 }, undefined);
  one.record(0.001, 1);
  t.is(one.limit, 1, 'at least one item');
});

test('the estimate moves with the items: a task that slows down gets smaller batches', (t) => {
  const sizer = new BatchSizer(1024, { concurrency: 4 }, undefined);
  sizer.record(0.2, 20); // 10 µs per item
  t.is(sizer.limit, 256);
  for (let i = 0; i < 20; i++) sizer.record(40, 20); // 2 ms per item
  t.is(sizer.limit, 10);
});

test('a fixed batchSize is kept as given, within the window, whatever is measured', (t) => {
  const sizer = new BatchSizer(1024, { concurrency: 4 }, 300);
  t.is(sizer.limit, 300);
  sizer.record(100, 1);
  t.is(sizer.limit, 300);
  t.is(new BatchSizer(64, { concurrency: 4 }, 300).limit, 64);
});

test('the dispatcher\'s maxBatch replaces the usual 1,024, and is asked anew at every sizing', (t) => {
  const limits = { concurrency: 8, maxBatch: 8192 };
  const sizer = new BatchSizer(32_768, limits, undefined);
  sizer.record(0.01, 1000); // tiny items: half the window wanted, the dispatcher's limit applies
  t.is(sizer.limit, 8192);
  limits.maxBatch = 2000; // the backend learned that items are large
  sizer.record(0.01, 1000);
  t.is(sizer.limit, 2000);
  const usual = new BatchSizer(32_768, { concurrency: 8 }, undefined);
  usual.record(0.01, 1000);
  t.is(usual.limit, 1024, 'without a dispatcher limit');
});

test('a dispatcher whose calls cost more (callCostMs) gets half the window a call for items that would run for less', (t) => {
  // 0.1 µs per item: a fair share (16,384 / 8) runs for 0.2 ms, above a thread's hand-over, below a remote job's cost.
  const local = new BatchSizer(16_384, { concurrency: 8, maxBatch: 8192 }, undefined);
  local.record(0.1, 1000);
  t.is(local.limit, 2048, 'a fair share');
  const remote = new BatchSizer(16_384, { concurrency: 8, maxBatch: 8192, callCostMs: 1 }, undefined);
  remote.record(0.1, 1000);
  t.is(remote.limit, 8192, 'half the window');
});
