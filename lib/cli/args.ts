/**
 * The command line of `ordered-pool map`: flags, defaults, help text. Parsing is Node's
 * `util.parseArgs`; this module only turns its strings into checked values.
 */
import { parseArgs } from 'node:util';

export type Format = 'lines' | 'ndjson' | 'csv';
export type ErrorsMode = 'fail' | 'skip' | 'record';

export interface MapArgs {
  readonly module: string;
  readonly exportName: string;
  /** Input files; empty means stdin. `-` also means stdin. */
  readonly inputs: readonly string[];
  readonly output: string | undefined;
  readonly threads: number | undefined;
  readonly window: number | undefined;
  readonly batch: number | undefined;
  readonly format: Format;
  readonly errors: ErrorsMode;
  readonly errorsFile: string | undefined;
  readonly timeout: number | undefined;
  /** undefined: show it when stderr is a terminal that the results do not go to. */
  readonly progress: boolean | undefined;
  readonly verbose: boolean;
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'map'; readonly args: MapArgs };

/** A mistake on the command line: reported in one line with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const HELP = `Usage: ordered-pool map <module> [INPUT ...] [options]

Runs a function exported by <module> over every record of the INPUT files (or stdin)
on worker threads, and writes the results in input order.

Options:
  -e, --export NAME         export to call (default: default)
  -o, --output FILE         write results to FILE instead of stdout
  -f, --format FORMAT       lines | ndjson | csv (CSV with a header row) (default: lines)
  -t, --threads N           worker threads (default: one per core)
  -w, --window N            most records in flight or waiting to be written (default: 4096)
  -b, --batch N             records per pool call (default: sized automatically)
      --errors MODE         fail | skip | record (default: fail)
      --errors-file FILE    with --errors record: write failures there instead of stderr
      --timeout MS          longest run time per record
      --progress            show progress on stderr (default: when stderr is a terminal
                            and the results do not go to that terminal)
      --no-progress         never show the progress bar
  -v, --verbose             stack traces; run/wait times, utilization and
                            peak memory in the summary
  -h, --help                show this help
  -V, --version             show the version

<module> is a file path, or the name of a package installed for the working directory.
Each result is written as one line: strings as they are, anything else as JSON.
A result of undefined writes nothing; one with no JSON form (a symbol, a function) is
an error of its record. A CSV row the parser rejects is an error of its record too.
Ctrl-C stops after writing the results already in order; a second Ctrl-C exits at once.
--threads above 4 per core is lowered to that, with a warning.

Exit codes:
  0    every record was written (or filtered out)
  1    stopped: a record failed under --errors fail, the input or output broke, or the
       run could not start (module, export, input or output)
  2    wrong command line
  123  the run finished, but some records failed (--errors skip or record)
  130  interrupted by Ctrl-C

Examples:
  ordered-pool map ./enrich.js --export enrich --format ndjson users.ndjson -o out.ndjson
  zcat big.log.gz | ordered-pool map ./parse.js --errors record --errors-file bad.ndjson > parsed.ndjson
`;

const OPTIONS = {
  export: { type: 'string', short: 'e' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  threads: { type: 'string', short: 't' },
  window: { type: 'string', short: 'w' },
  batch: { type: 'string', short: 'b' },
  errors: { type: 'string' },
  'errors-file': { type: 'string' },
  timeout: { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${flag} expects a positive integer, got '${value}'`);
  }
  return n;
}

function choice<const T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} expects one of ${choices.join(', ')}, got '${value}'`);
}

/** Reads `argv` (without node and the script); throws {@link UsageError} for any mistake. */
export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages are good but long; their first sentence is the useful part.
    const message = error instanceof Error ? error.message.split('. ')[0] ?? error.message : String(error);
    throw new UsageError(message.replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const [command, module, ...inputs] = positionals;
  if (command === undefined) throw new UsageError("missing command; try 'ordered-pool map <module> [INPUT ...]' or --help");
  if (command !== 'map') throw new UsageError(`unknown command '${command}'; the command is 'map'`);
  if (module === undefined) throw new UsageError('missing <module>: the file that exports the function to run');
  if (values.progress === true && values['no-progress'] === true) {
    throw new UsageError('--progress and --no-progress contradict each other');
  }
  const errors = choice('errors', values.errors, ['fail', 'skip', 'record'] as const, 'fail');
  if (values['errors-file'] !== undefined && errors !== 'record') {
    throw new UsageError('--errors-file needs --errors record');
  }
  const exportName = values.export ?? 'default';
  if (exportName === '') throw new UsageError('--export expects a name');
  return {
    kind: 'map',
    args: {
      module,
      exportName,
      inputs,
      output: values.output,
      threads: positiveInt('threads', values.threads),
      window: positiveInt('window', values.window),
      batch: positiveInt('batch', values.batch),
      format: choice('format', values.format, ['lines', 'ndjson', 'csv'] as const, 'lines'),
      errors,
      errorsFile: values['errors-file'],
      timeout: positiveInt('timeout', values.timeout),
      progress: values.progress === true ? true : values['no-progress'] === true ? false : undefined,
      verbose: values.verbose === true,
    },
  };
}
