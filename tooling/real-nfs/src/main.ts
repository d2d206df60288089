/**
 * `fanout-real-nfs [-v 3|4.0|4.1|4.2] [-o MOUNTOPTS] [-f ext4|tmpfs] [-d DIR]... -- COMMAND...`:
 * run COMMAND in a fresh real-NFS VM (see README.md) and exit with its status.
 */
import { parseArgs } from 'node:util';
import { nfsVmMissing, runInNfsVm, type NfsVersion } from './nfs-vm.js';

const VERSIONS: readonly string[] = ['3', '4.0', '4.1', '4.2'];

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      vers: { type: 'string', short: 'v', default: '3' },
      options: { type: 'string', short: 'o' },
      fs: { type: 'string', short: 'f', default: 'ext4' },
      dir: { type: 'string', short: 'd', multiple: true },
      timeout: { type: 'string', short: 't', default: '600' },
    },
  });
  const vers = values.vers ?? '3';
  if (!VERSIONS.includes(vers) || (values.fs !== 'ext4' && values.fs !== 'tmpfs') || positionals.length === 0) {
    process.stderr.write(
      'usage: fanout-real-nfs [-v 3|4.0|4.1|4.2] [-o MOUNTOPTS] ' +
        '[-f ext4|tmpfs] [-d DIR]... [-t SECONDS] -- COMMAND...\n',
    );
    return 2;
  }
  const missing = nfsVmMissing();
  if (missing !== undefined) {
    process.stderr.write(`fanout-real-nfs: ${missing}\n`);
    return 125;
  }
  const dirs = values.dir ?? [process.cwd()];
  const result = await runInNfsVm({
    vers: vers as NfsVersion,
    command: positionals,
    dirs,
    cwd: dirs[0],
    mountOptions: values.options,
    exportFs: values.fs,
    timeoutMs: Number(values.timeout) * 1000,
    onOutput: (text) => process.stdout.write(text),
  });
  process.stderr.write(`[real-nfs] VM total ${result.seconds.toFixed(1)} s, command exit status ${result.status}\n`);
  return result.status;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fanout-real-nfs: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 125;
  },
);
