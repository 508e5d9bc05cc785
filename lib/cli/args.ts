/**
 * The command line of `ordered-pool map`: flags, defaults, help text. Parsing is Node's
 * `util.parseArgs`; this module only turns its strings into checked values.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

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

/** `ordered-pool worker`: serve a BullMQ queue's jobs on local threads. */
export interface WorkerArgs {
  readonly redis: string;
  readonly queue: string;
  /** Folder the jobs' task paths are resolved against. */
  readonly root: string;
  readonly threads: number | undefined;
  readonly concurrency: number | undefined;
  readonly lockDuration: number;
  readonly stalledInterval: number;
  readonly prefix: string | undefined;
  /** Ms a shutdown waits for running jobs before leaving them to other workers. */
  readonly shutdownTimeout: number;
  /** Ms a serving worker keeps retrying while Redis refuses it, before it exits. */
  readonly refusedTimeout: number;
  /** PEM files for TLS: the CA that signed the server's certificate, and a client certificate with its key. */
  readonly tls: TlsFiles | undefined;
  readonly verbose: boolean;
}

/** `--tls-ca`, `--tls-cert`, `--tls-key`: the files named, not yet read. */
export interface TlsFiles {
  readonly ca: string | undefined;
  /** Given with `key` or not at all. */
  readonly client: { readonly cert: string; readonly key: string } | undefined;
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'map'; readonly args: MapArgs }
  | { readonly kind: 'worker'; readonly args: WorkerArgs };

/**
 * Lock and stall settings: a killed worker's jobs run elsewhere after 2-3 s (BullMQ's 30 s / 30 s
 * took ~59 s). The price: each worker renews its locks every second, and a worker whose event
 * loop stalls for 2 s loses its jobs to another (they run twice; the second answer is dropped).
 * Tasks run on threads, so only a long GC pause or a huge batch to decode stalls it.
 */
export const WORKER_DEFAULTS = { lockDuration: 2000, stalledInterval: 1000, shutdownTimeout: 10_000, refusedTimeout: 30_000 } as const;

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

Usage: ordered-pool worker --redis URL --queue NAME [--root DIR] [options]

Serves the jobs of a BullMQ queue (see BullMQQueue in 'ordered-pool/bullmq') on local
worker threads. Prints a line with 'ready' on stderr once it listens; SIGTERM or Ctrl-C
finishes the running jobs (up to --shutdown-timeout) and exits. If Redis refuses its
credentials or certificate, it exits with 1 and one line saying so: at once when starting,
after --refused-timeout once serving.

Worker options:
      --redis URL               redis://[user:pass@]host:port[/db], rediss:// for TLS
      --tls-ca FILE             with rediss://: trust server certificates signed by the
                                CA in FILE (PEM)
      --tls-cert FILE           with rediss://: client certificate (PEM) and its key, for a
      --tls-key FILE            Redis with tls-auth-clients yes; give both or neither
      --queue NAME              the queue's name
      --root DIR                task modules are looked up under DIR only (default: .)
  -t, --threads N               worker threads (default: one per core)
      --concurrency N           jobs at once (default: 2 per thread)
      --lock-duration MS        BullMQ job lock (default: ${WORKER_DEFAULTS.lockDuration})
      --stalled-interval MS     BullMQ stall check (default: ${WORKER_DEFAULTS.stalledInterval})
      --prefix PREFIX           BullMQ key prefix (default: bull)
      --shutdown-timeout MS     wait for running jobs on shutdown (default: ${WORKER_DEFAULTS.shutdownTimeout})
      --refused-timeout MS      once serving, keep retrying this long while Redis refuses
                                the credentials or certificate, then exit 1
                                (default: ${WORKER_DEFAULTS.refusedTimeout})

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

const WORKER_OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string' },
  root: { type: 'string' },
  threads: { type: 'string', short: 't' },
  concurrency: { type: 'string' },
  'lock-duration': { type: 'string' },
  'stalled-interval': { type: 'string' },
  prefix: { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  'refused-timeout': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages are good but long; their first sentence is the useful part.
    const message = error instanceof Error ? error.message.split('. ')[0] ?? error.message : String(error);
    throw new UsageError(message.replace(/\.$/, ''));
  }
}

function parseWorker(argv: readonly string[]): Command {
  const { values, positionals } = parse(argv, WORKER_OPTIONS);
  if (values.help === true) return { kind: 'help' };
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'; the worker takes options only`);
  const required = (flag: 'redis' | 'queue'): string => {
    const value = values[flag];
    if (value === undefined || value === '') throw new UsageError(`missing --${flag}`);
    return value;
  };
  const queue = required('queue');
  if (queue.includes(':')) throw new UsageError(`--queue may not contain ':', got '${queue}'`);
  const redis = required('redis');
  return {
    kind: 'worker',
    args: {
      redis,
      queue,
      root: values.root ?? '.',
      threads: positiveInt('threads', values.threads),
      concurrency: positiveInt('concurrency', values.concurrency),
      lockDuration: positiveInt('lock-duration', values['lock-duration']) ?? WORKER_DEFAULTS.lockDuration,
      stalledInterval: positiveInt('stalled-interval', values['stalled-interval']) ?? WORKER_DEFAULTS.stalledInterval,
      prefix: values.prefix,
      shutdownTimeout: positiveInt('shutdown-timeout', values['shutdown-timeout']) ?? WORKER_DEFAULTS.shutdownTimeout,
      refusedTimeout: positiveInt('refused-timeout', values['refused-timeout']) ?? WORKER_DEFAULTS.refusedTimeout,
      tls: tlsFiles(redis, values['tls-ca'], values['tls-cert'], values['tls-key']),
      verbose: values.verbose === true,
    },
  };
}

function tlsFiles(redis: string, ca: string | undefined, cert: string | undefined, key: string | undefined): TlsFiles | undefined {
  const given = ([['tls-ca', ca], ['tls-cert', cert], ['tls-key', key]] as const).filter(([, file]) => file !== undefined);
  const [first] = given;
  if (first === undefined) return undefined;
  for (const [flag, file] of given) if (file === '') throw new UsageError(`--${flag} expects a file`);
  if (cert !== undefined && key === undefined) throw new UsageError("--tls-cert needs --tls-key (the certificate's private key)");
  if (key !== undefined && cert === undefined) throw new UsageError('--tls-key needs --tls-cert (the client certificate)');
  if (!redis.startsWith('rediss://')) {
    // The scheme only: the rest of the URL may hold a password.
    const scheme = /^[a-z][a-z\d+.-]*:\/\//i.exec(redis)?.[0] ?? 'no URL scheme';
    throw new UsageError(`--${first[0]} needs a rediss:// URL in --redis (TLS), got ${scheme}`);
  }
  return { ca, client: cert === undefined || key === undefined ? undefined : { cert, key } };
}

/** Reads `argv` (without node and the script); throws {@link UsageError} for any mistake. */
export function parseCommand(argv: readonly string[]): Command {
  if (argv[0] === 'worker') return parseWorker(argv.slice(1));
  const { values, positionals } = parse(argv, OPTIONS);
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const [command, module, ...inputs] = positionals;
  if (command === undefined) throw new UsageError("missing command; try 'ordered-pool map <module> [INPUT ...]' or --help");
  if (command === 'worker') throw new UsageError("'worker' must come first: ordered-pool worker --redis URL --queue NAME");
  if (command !== 'map') throw new UsageError(`unknown command '${command}'; the commands are 'map' and 'worker'`);
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
