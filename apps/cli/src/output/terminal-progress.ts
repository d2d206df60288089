/**
 * The progress bar of `fanout run` on a terminal: messages, bytes, rate, ETA.
 * Imported only when it is shown.
 */
import { SingleBar } from 'cli-progress';
import { formatBytes } from './human-units.js';
import type { Progress } from './progress.js';

/** A terminal progress bar on `stream`: messages, bytes, rate and ETA. */
export function terminalProgress(stream: NodeJS.WritableStream): Progress {
  let bytes = 0;
  let total = 0;
  let done = 0;
  const started = Date.now();
  const bar = new SingleBar({
    stream,
    format: '{bar} {value}/{total} messages | {bytesText} | {rate} msg/s | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
    fps: 10,
  });
  bar.start(0, 0, { bytesText: formatBytes(0), rate: 0 });
  const payload = () => ({ bytesText: formatBytes(bytes), rate: Math.round((done * 1000) / Math.max(1, Date.now() - started)) });
  return {
    addTotal(n) {
      total += n;
      bar.setTotal(total);
    },
    tick(b) {
      bytes += b;
      done++;
      bar.update(done, payload());
    },
    log(line) {
      // Clear the bar's line, print, and let the next redraw put the bar back.
      stream.write(`\r\x1b[K${line}`);
      bar.render();
    },
    stop() {
      bar.stop();
    },
  };
}
