import { Transform } from 'node:stream';
import { consume, enqueue, fanOut, initSpool, recover } from '@fanout/core';
import { createMemorySpools } from '@fanout/fs-memory';

export async function example(): Promise<string[]> {
  // Any backend works the same way: PosixBackend, NfsBackend, WebdavBackend, MemoryBackend.
  const spools = createMemorySpools();
  const source = spools.open('memory://outgoing');
  const archive = spools.open('memory://archive');
  const shouting = spools.open('memory://shouting');
  for (const spool of [source, archive, shouting]) await initSpool(spool);

  await enqueue(source, new TextEncoder().encode('hello, world\n'));

  // After a crash, roll back or complete whatever was in flight (fanOut also does this first).
  await recover({ spool: source, open: async (location) => spools.open(location) });

  const upper = () =>
    new Transform({ transform: (chunk, _enc, done) => done(null, String(chunk).toUpperCase()) });
  const summary = await fanOut({
    source,
    destinations: [{ spool: archive }, { spool: shouting, transform: upper }],
    onEvent: (event) => {
      if (event.type === 'message-failed') console.error(event.error.oneLine());
    },
  });
  console.log(`${summary.committed} delivered, ${summary.failed.length} failed`);

  const received: string[] = [];
  await consume({
    spool: shouting,
    handler: async (message) => {
      let text = '';
      for await (const chunk of message.read()) text += Buffer.from(chunk).toString();
      received.push(text); // resolve: acknowledged and deleted; throw: released for a later try
    },
  });
  return received;
}
