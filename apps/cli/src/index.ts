/**
 * The `fanout` command (docs/DESIGN.md §6). `main` parses the arguments, runs one
 * command and returns its exit status; it never throws and never calls
 * `process.exit` itself (except on a second interrupt signal).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { setOwnerEnvironment } from '@fanout/core';
import { CliContext, type CliIo } from './cli-context.js';
import { type CommandAction, type CommandModule, example, registerCommand } from './commands/command-module.js';
import { consumeCommand } from './commands/consume.js';
import { deleteCommand } from './commands/delete.js';
import { holdCommand } from './commands/hold.js';
import { listCommand } from './commands/list.js';
import { releaseCommand } from './commands/release.js';
import { showCommand } from './commands/show.js';
import { enqueueCommand } from './commands/enqueue.js';
import { initCommand } from './commands/init.js';
import { recoverCommand } from './commands/recover.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor } from './exit-status.js';
import { localEnvironment } from './owner-probe.js';

export { ExitStatus, exitStatusFor, worstStatus } from './exit-status.js';
export { CLI_BACKENDS, openSpool, spoolScheme } from './spool-url.js';
export {
  linuxEnvironment,
  localOwner,
  localOwnerProbe,
  makeOwnerProbe,
  type OwnerProbeEnvironment,
} from './owner-probe.js';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Every command, in the order of `fanout --help`; each module owns its flags, help and handler. */
const COMMANDS: readonly CommandModule[] = [
  initCommand,
  enqueueCommand,
  runCommand,
  recoverCommand,
  statusCommand,
  consumeCommand,
  listCommand,
  showCommand,
  holdCommand,
  releaseCommand,
  deleteCommand,
];

/**
 * Commander's error message as the one line every fanout error is: without its
 * `error: ` prefix, a suggestion ("Did you mean …?") on the same line.
 */
function usageLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/ is invalid\. (\w)/, (_m, c: string) => ` is invalid: ${c.toLowerCase()}`)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ')
    .replace(/\.$/, '');
}

interface GlobalFlags {
  config?: string;
  verbose?: boolean;
}

/**
 * Run `fanout` with `argv` (without `node` and the script) and resolve to
 * the exit status.
 */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<ExitStatusCode> {
  let status: ExitStatusCode = ExitStatus.ok;
  // Every name this process writes (temps, consumer claims, takeover claims) carries its full identity
  // from /proc, so that other processes can tell exactly when it is dead.
  setOwnerEnvironment(localEnvironment());
  // A reader that went away (`fanout status | head`) is not an error, and the work in hand still finishes.
  io.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
  let verboseSeen = argv.includes('--verbose');

  const examples = example([
    'fanout init ./S ./A ./B',
    'printf hello | fanout enqueue ./S',
    'fanout run --from ./S --to ./A --to ./B',
    'fanout status ./S ./A ./B',
  ]);
  const program = new Command('fanout');
  program
    .description(
      'Move messages (files) from a source spool into several destination spools, exactly once, whatever crashes.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('--config <file>', 'YAML or JSON file with named spools and routes (for run, recover, status)')
    .option('--verbose', 'more detail; stack traces with errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`fanout: ${usageLine(s)} (EUSAGE) (add --help for usage)\n`),
    })
    .addHelpText(
      'after',
      `
Spools: a path or file:///path (local), nfs:///mounted/path, webdav+https://host/path, memory://name.
WebDAV credentials: FANOUT_WEBDAV_USER and FANOUT_WEBDAV_PASSWORD, or the config file; never in a URL on argv.
Exit status: 0 done; 1 some messages failed (they stay in the source; a failing transform too, ETRANSFORM);
2 usage or configuration error (bad flag or URL, not a spool, a file where a spool should be);
3 recovery refused something (quarantined attempt record, foreign spool); \
1 also when a recovery step failed (left for the next recovery);
4 a spool could not be reached or read (EUNAVAILABLE, EIO, EACCES outside a message); \
5 a queue command met a message in flight (nothing changed);
6 too many open files (EMFILE); 7 a queue command named a message or record that does not exist;
129/130/143 stopped by SIGHUP (without --watch)/SIGINT/SIGTERM.
${examples}`,
    );

  /** Wrap a command: build its context, map whatever it throws to an exit status. */
  const action: CommandAction =
    (fn) =>
    async (...args) => {
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

  for (const command of COMMANDS) registerCommand(program, command, action);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitStatus.ok : ExitStatus.usage;
    new CliContext(io, verboseSeen, undefined).reportError(err);
    return exitStatusFor(err);
  }
  if (io.env.FANOUT_REPORT_PEAK_RSS === '1')
    io.stderr.write(`fanout: peak-rss-bytes ${process.resourceUsage().maxRSS * 1024}\n`);
  return status;
}
