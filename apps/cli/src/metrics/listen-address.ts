/** The `--metrics <host:port>` argument. */
import { FanoutError } from '@fanout/core';

/** Where the metrics server listens. */
export interface ListenAddress {
  readonly host: string;
  /** 0: a free port the kernel picks (printed once listening). */
  readonly port: number;
}

/**
 * Parse `host:port`, `[v6]:port` or `:port` (every interface).
 * @throws `EUSAGE` naming the argument for anything else.
 */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new FanoutError(
      'EUSAGE',
      `--metrics wants <host>:<port> (e.g. 127.0.0.1:9464, [::1]:9464, :9464), not ${JSON.stringify(text)}`,
    );
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}
