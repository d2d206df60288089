/**
 * The `fanout` command (DESIGN.md §6). `main` parses the arguments, runs one
 * command and returns its exit status; it never throws and never calls
 * `process.exit` itself (except on a second interrupt signal).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { setProcessOwner } from '@fanout/core';
import { CliContext, type CliIo } from './cli-context.js';
import { type ConsumeFlags, consumeCommand } from './commands/consume.js';
import { enqueueCommand } from './commands/enqueue.js';
import { initCommand } from './commands/init.js';
import { recoverCommand } from './commands/recover.js';
import { MIN_LEASE_MS, runCommand, type RunFlags } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor } from './exit-status.js';
import { localOwner } from './owner-probe.js';

export { ExitStatus, exitStatusFor, worstStatus } from './exit-status.js';
export { openSpool, spoolScheme } from './spool-url.js';
export { linuxEnvironment, localOwner, localOwnerProbe, makeOwnerProbe, type OwnerProbeEnvironment } from './owner-probe.js';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a positive whole number');
  return Number(value);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function example(text: string): string {
  return `\nExample:\n${text
    .split('\n')
    .map((l) => `  $ ${l}`)
    .join('\n')}\n`;
}

interface GlobalFlags {
  config?: string;
  verbose?: boolean;
}

/**
 * Run `fanout` with `argv` (without `node` and the script) and resolve to
 * the exit status.
 */
export async function main(argv: readonly string[], io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<ExitStatusCode> {
  let status: ExitStatusCode = ExitStatus.ok;
  // Every name this process writes (temps, consumer claims, takeover claims) carries its full identity
  // from /proc, so that other processes can tell exactly when it is dead.
  setProcessOwner(localOwner());
  // A reader that went away (`fanout status | head`) is not an error, and the work in hand still finishes.
  io.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
  let verboseSeen = argv.includes('--verbose');

  const program = new Command('fanout');
  program
    .description('Move messages (files) from a source spool into several destination spools, exactly once, whatever crashes.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--config <file>', 'YAML or JSON file with named spools and routes (for run, recover, status)')
    .option('--verbose', 'more detail; stack traces with errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`fanout: ${s.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Spools: a path or file:///path (local), nfs:///mounted/path, webdav+https://host/path, memory://name.
WebDAV credentials: FANOUT_WEBDAV_USER and FANOUT_WEBDAV_PASSWORD, or the config file; never in a URL on argv.
Exit status: 0 done; 1 some messages failed (they stay in the source); 2 usage or configuration error;
3 recovery refused something (quarantined attempt record, foreign spool); 1 also when a recovery step failed (left for the next recovery);
4 a spool could not be reached or read (nothing changed); 6 too many open files; 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.
${example('fanout init ./S ./A ./B\nprintf hello | fanout enqueue ./S\nfanout run --from ./S --to ./A --to ./B\nfanout status ./S ./A ./B')}`,
    );

  /** Wrap a command: build its context, map whatever it throws to an exit status. */
  const action =
    <A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<ExitStatusCode>) =>
    async (...args: A) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalFlags>();
      verboseSeen = globals.verbose === true;
      const json = command.opts<{ json?: boolean }>().json === true;
      try {
        let config;
        if (globals.config !== undefined) {
          const { loadConfig } = await import('./config-file.js');
          config = await loadConfig(globals.config, io.env);
        }
        status = await fn(new CliContext(io, globals.verbose === true, config, json), ...args);
      } catch (err) {
        new CliContext(io, globals.verbose === true, undefined, json).reportError(err, 'fatal');
        status = exitStatusFor(err);
      }
    };

  program
    .command('init')
    .description('create spools and give them an identity (idempotent)')
    .argument('<spool...>', 'spools to create')
    .addHelpText('after', example('fanout init ./spool/in ./spool/out-a ./spool/out-b'))
    .action(action((ctx, spools: string[]) => initCommand(ctx, spools)));

  program
    .command('enqueue')
    .description('add messages atomically; prints one ID per line, in input order, once they are durable')
    .argument('<spool>', 'the spool to add to')
    .argument('[file...]', 'files to enqueue, each one message; "-" or none: stdin')
    .addHelpText('after', example('fanout enqueue ./spool/in report.pdf invoice.xml\necho hello | fanout enqueue ./spool/in'))
    .action(action((ctx, spool: string, files: string[]) => enqueueCommand(ctx, spool, files)));

  program
    .command('run')
    .description('fan out every message of --from to every --to; recovers the source first; exits when none is left unless --watch')
    .option('--from <spool>', 'the source spool')
    .option('--to <spool>', 'a destination spool (repeat for several)', collect)
    .option('--route <name>', 'with --config: run only this route (repeatable; default all)', collect)
    .addOption(new Option('--protocol <name>', 'staged (default: copies invisible until committed) or seed').choices(['staged', 'seed']))
    .option('--batch <n>', 'messages per transaction (they share directory syncs; default 32)', positiveInt)
    .option('--concurrency <n>', 'transactions writing copies at once (default 4; as many again may be committing)', positiveInt)
    .option('--transform <module>', 'module whose default export makes a Transform per message and destination')
    .option('--watch', 'keep running and fan out new messages as they arrive (until SIGINT/SIGTERM)')
    .option('--interval <ms>', 'with --watch: how often to look for new messages (default 1000)', positiveInt)
    .option('--recover-interval <ms>', 'with --watch: how often to recover the source\'s stale attempts, left by dead or stopped workers (default 30000)', positiveInt)
    .option('--lease <ms>', `lease written into each attempt's record (default 600000, at least ${MIN_LEASE_MS}; renewed every third of it while the attempt runs); a worker backs out at 2/3 of it, and another host's recovery may take the attempt over once it ends (the commit is fenced: a worker that was taken over cannot commit)`, positiveInt)
    .option('--stall-timeout <ms>', 'a copy (read, transform, write) that makes no progress this long fails with ETIMEDOUT and is rolled back (default 300000, or FANOUT_STALL_TIMEOUT_MS)', positiveInt)
    .option('--metrics <host:port>', 'with --watch: serve Prometheus metrics at http://<host:port>/metrics and health at /healthz (port 0: any free port, printed)')
    .option('--max-backoff <ms>', 'with --watch: the longest wait between two retries of a route that is down (default 30000; retries start at 500 ms and double)', positiveInt)
    .option('--json', 'print one JSON object per event and a summary object on stdout (each with ts and level)')
    .addHelpText(
      'after',
      `\nWith --watch, an outage of a spool (server away, I/O error, disk full, permission, missing directory) never\nends the run: the route's messages wait in the source, it is retried with backoff, and one line says when it\ngoes down and one when it is back. SIGHUP reloads a --config file (routes added, removed, changed; work in\nhand finishes first); without --config it is ignored. Without --watch, SIGHUP stops as SIGTERM does (129).\nSeveral workers may run on one source spool at once (on this host, or on hosts sharing an NFS spool):\neach message is taken by one (an atomic rename); with --watch each recovers what dead ones left. Give a\nsource on WebDAV one worker only: common servers check Overwrite: F before they move, so two\nrecoverers could both claim one attempt.\n` +
        example('fanout run --from ./spool/in --to ./spool/out-a --to webdav+https://dav.example.com/out\nfanout run --from ./spool/in --to ./spool/out-a --watch --interval 200 --recover-interval 10000\nfanout --config fanout.yaml run --route main'),
    )
    .action(action((ctx, flags: RunFlags) => runCommand(ctx, flags)));

  program
    .command('recover')
    .description('roll back or complete interrupted attempts (destinations are found from their records); remove dead temp files')
    .argument('[spool...]', 'spools to recover (default with --config: all configured spools)')
    .option('--json', 'print one JSON object per event and a summary object per spool')
    .addHelpText('after', example('fanout recover ./spool/in'))
    .action(action((ctx, spools: string[], flags: { json?: boolean }) => recoverCommand(ctx, spools, flags)));

  program
    .command('status')
    .description('counts per kind, in-flight and stale attempt records and claims with owner and age, unknown entries')
    .argument('[spool...]', 'spools to show (default with --config: all configured spools)')
    .option('--json', 'one JSON object per spool')
    .addHelpText('after', example('fanout status ./spool/in ./spool/out-a\nfanout status --json ./spool/in'))
    .action(action((ctx, spools: string[], flags: { json?: boolean }) => statusCommand(ctx, spools, flags)));

  program
    .command('consume')
    .description('hand each delivered message to a command (sh -c, message on stdin, FANOUT_ID and FANOUT_SPOOL set); delete it when the command exits 0, release it otherwise')
    .argument('<spool>', 'a destination spool')
    .option('--exec <cmd>', 'the command; without it, messages are written to stdout and deleted')
    .option('--json', 'with --exec: one JSON object per message and a summary')
    .option('--watch', 'keep running and consume messages as they are delivered (until SIGINT/SIGTERM, which lets the message in hand finish)')
    .option('--interval <ms>', 'with --watch: how often to look for new messages (default 1000)', positiveInt)
    .option('--release-interval <ms>', 'with --watch: how often to release claims of dead consumers on this host and offer messages whose command failed again (default 30000)', positiveInt)
    .option('--metrics <host:port>', 'with --watch: serve Prometheus metrics at http://<host:port>/metrics and health at /healthz')
    .option('--max-backoff <ms>', 'with --watch: the longest wait between two retries of a spool that is down (default 30000)', positiveInt)
    .addHelpText(
      'after',
      example('fanout consume ./spool/out-a --exec \'lpr -P office\'\nfanout consume ./spool/out-a --exec \'cat > "/archive/$FANOUT_ID"\'\nfanout consume ./spool/out-a --watch --interval 200 --exec \'./deliver.sh\''),
    )
    .action(action((ctx, spool: string, flags: ConsumeFlags) => consumeCommand(ctx, spool, flags)));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitStatus.ok : ExitStatus.usage;
    new CliContext(io, verboseSeen, undefined).reportError(err);
    return exitStatusFor(err);
  }
  if (io.env.FANOUT_REPORT_PEAK_RSS === '1') io.stderr.write(`fanout: peak-rss-bytes ${process.resourceUsage().maxRSS * 1024}\n`);
  return status;
}
