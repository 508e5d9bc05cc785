/**
 * How `ordered-pool map` ends, for scripts. A run that finished but had failed records gets its
 * own code, as xargs does (123 when any command failed), so `--errors skip|record` never passes
 * off failures as success; GNU parallel's count of failures (capped at 101) was not taken because
 * its small values collide with 1 and 2 below.
 */
/** Every record was written or filtered out. */
export const EXIT_OK = 0;
/**
 * The run stopped: a record failed under `--errors fail`, the input or output broke, or nothing
 * could start (module or export not found, module fails to load in the threads, input missing,
 * output not writable).
 */
export const EXIT_FAILURE = 1;
/** The command line is wrong. */
export const EXIT_USAGE = 2;
/** The run finished, but some records failed (`--errors skip` or `record`). */
export const EXIT_RECORDS_FAILED = 123;
/** Ctrl-C (128 + SIGINT): the results already in order were written. */
export const EXIT_INTERRUPTED = 130;
