#!/usr/bin/env node
// CommonJS on purpose: an ES module entry has already started libuv's thread pool (the loader reads
// files through it) before its first line runs, so the size below would come too late.
// fsyncs hold a pool thread each while the disk works, and Node's default of 4 threads caps the
// fsyncs in flight at 4 (docs/BENCHMARKS.md). An explicit UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
import('../dist/index.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
