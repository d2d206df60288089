#!/usr/bin/env node
// fsyncs hold a libuv pool thread each while the disk works; Node's default of 4 threads caps the
// fsyncs in flight at 4 (docs/BENCHMARKS.md). Must be set before the first fs call, hence before
// the import below. An explicit UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../dist/index.js');

process.exitCode = await main(process.argv.slice(2));
