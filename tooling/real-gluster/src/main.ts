/**
 * `fanout-real-gluster [-t replica|distribute] [-n BRICKS] [-p PING_TIMEOUT_S] [-T SECONDS] -- COMMAND...`: run
 * COMMAND against a fresh GlusterFS volume mounted by two FUSE clients (see README.md) and exit with its status.
 */
import { parseArgs } from 'node:util';
import { glusterMissing, runOnGluster } from './gluster-volume.js';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      type: { type: 'string', short: 't', default: 'replica' },
      bricks: { type: 'string', short: 'n', default: '2' },
      ping: { type: 'string', short: 'p', default: '5' },
      timeout: { type: 'string', short: 'T', default: '600' },
    },
  });
  const type = values.type;
  if ((type !== 'distribute' && type !== 'replica') || positionals.length === 0) {
    process.stderr.write(
      'usage: fanout-real-gluster [-t replica|distribute] [-n BRICKS] [-p PING_TIMEOUT_S] [-T SECONDS] -- COMMAND...\n',
    );
    return 2;
  }
  const missing = glusterMissing();
  if (missing !== undefined) {
    process.stderr.write(`fanout-real-gluster: ${missing}\n`);
    return 125;
  }
  const result = await runOnGluster({
    type,
    bricks: Number(values.bricks),
    pingTimeoutS: Number(values.ping),
    command: positionals,
    cwd: process.cwd(),
    timeoutMs: Number(values.timeout) * 1000,
    onOutput: (text) => process.stdout.write(text),
  });
  process.stderr.write(`[real-gluster] total ${result.seconds.toFixed(1)} s, command exit status ${result.status}\n`);
  return result.status;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fanout-real-gluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 125;
  },
);
