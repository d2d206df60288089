#!/usr/bin/env node
// CommonJS on purpose: an ES module entry has already started libuv's thread pool (the loader reads
// files through it) before its first line runs, so the size below would come too late.
// fsyncs hold a pool thread each while the disk works, and Node's default of 4 threads caps the
// fsyncs in flight at 4 (docs/BENCHMARKS.md). An explicit UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
// If the event loop drains while the command has not finished (something it awaited can never settle),
// the work is not done: say so and fail, never exit 0 with nothing said.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write(
    'fanout: stopped with work unfinished: an operation it waited for can never complete (a stalled ' +
      'transform or destination?); nothing was committed by it, run `fanout recover` (EABORTED)\n',
  );
  process.exitCode = 1;
});
import('../dist/index.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => {
    finished = true;
    process.exitCode = code;
  });
