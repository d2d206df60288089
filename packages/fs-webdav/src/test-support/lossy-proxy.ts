/**
 * A loopback HTTP proxy that can lose replies: it forwards a chosen request to
 * the server, lets the server apply it, and then cuts the client's connection
 * instead of answering — the "lost reply" of a flaky network.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LossyProxy {
  readonly baseUrl: string;
  /** Lose the reply of the next `count` requests with this method. */
  loseRepliesTo(method: string, count?: number): void;
  /** Requests seen, as `METHOD path`. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startLossyProxy(upstreamPort: number): Promise<LossyProxy> {
  const toLose = new Map<string, number>();
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const lose = (toLose.get(req.method ?? '') ?? 0) > 0;
    if (lose) toLose.set(req.method!, toLose.get(req.method!)! - 1);
    const upstream = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (reply: IncomingMessage) => {
        if (lose) {
          // The server has acted; the client never hears of it.
          reply.resume();
          reply.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(reply.statusCode ?? 502, reply.statusMessage, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    seen,
    loseRepliesTo(method, count = 1) {
      toLose.set(method, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
