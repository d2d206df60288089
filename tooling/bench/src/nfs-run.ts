/**
 * The real-NFS section of `pnpm bench`, host side: one VM of
 * `@fanout/real-nfs` per NFS version, in turn, each running the job of
 * nfs-job.ts once, and the section rendered from what they printed.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nfsVmMissing, runInNfsVm } from '@fanout/real-nfs';
import { type NfsJob, type NfsRun, nfsRunOf, renderNfsSection } from './nfs-report.js';
import type { BenchOptions } from './options.js';

/** The built job (tsup's second entry, beside main.js). */
const jobPath = fileURLToPath(new URL('./nfs-job.js', import.meta.url));

/**
 * Run the section's VMs and resolve its Markdown. A VM that fails is reported in it with the reason, never left out.
 */
export async function measureRealNfs(o: BenchOptions, log: (line: string) => void): Promise<string> {
  const job: NfsJob = { messages: o.nfsMessages, size: o.nfsSize, rounds: o.nfsRounds, destinations: o.destinations };
  const loadStart = loadavg();
  const context = () => ({ job, loadStart, loadEnd: loadavg() });
  const missing = nfsVmMissing() ?? (existsSync(jobPath) ? undefined : `${jobPath} is not built (pnpm build)`);
  if (missing !== undefined) {
    log(`real NFS: not measured: ${missing}`);
    return renderNfsSection([], context(), `the real-NFS harness cannot run here: ${missing}`);
  }
  const runs: NfsRun[] = [];
  for (const vers of o.nfsVersions) {
    log(`real NFS v${vers}: booting the VM (limit ${o.nfsLimit} s)`);
    try {
      const r = await runInNfsVm({
        vers,
        command: [process.execPath, jobPath, JSON.stringify(job)],
        timeoutMs: o.nfsLimit * 1000,
        onOutput: (text) => {
          for (const line of text.split('\n'))
            if (/^(nfs-bench|\[real-nfs)/.test(line)) log(`real NFS v${vers}: ${line}`);
        },
      });
      runs.push(
        nfsRunOf({
          vers,
          status: r.status,
          timedOut: r.timedOut,
          output: r.output,
          seconds: r.seconds,
          limitSeconds: o.nfsLimit,
        }),
      );
    } catch (err) {
      runs.push({ vers, failed: `the VM could not be started: ${err instanceof Error ? err.message : String(err)}` });
    }
    const last = runs.at(-1)!;
    const outcome = 'failed' in last ? `not measured: ${last.failed}` : `done in ${last.vmSeconds.toFixed(0)} s`;
    log(`real NFS v${vers}: ${outcome}`);
  }
  return renderNfsSection(runs, context());
}
