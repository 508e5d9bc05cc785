/**
 * CPU time of the main thread alone, for `--verbose`: the process's own figure adds the worker
 * threads', and the main thread's share is what caps the whole run (it cannot be parallelised).
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc counts CPU time in ticks of 10 ms. */
const MS_PER_TICK = 10;

/** Ms of CPU the main thread has used, from /proc; undefined where there is no /proc. */
export function mainThreadCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After the command name (which may hold spaces, hence the last ')'), utime and stime are fields 14 and 15 of proc(5).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}
