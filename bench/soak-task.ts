/** The soak's task: as trivial as a task gets, so the run measures the library, not the work. */
export function increment(x: number): number {
  return x + 1;
}
