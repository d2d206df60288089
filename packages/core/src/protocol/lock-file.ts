// The seed protocol's lock file `l<id>`: its name is the lock, its content names the attempt that made it, so that a
// leftover lock can be told from a live one even after a crash (docs/PROTOCOL.md, "seed").

/** What a seed lock file holds: the attempt that made it (see `lockOwner`). */
export function lockContent(tx: string): string {
  return `fanout-lock ${tx}\n`;
}

/** The attempt a seed lock's content names, or `undefined` if it is not a lock this code wrote. */
export function lockOwner(content: string | undefined): string | undefined {
  const m = content === undefined ? null : /^fanout-lock ([0-9A-Za-z_-]{1,128})\n$/.exec(content);
  return m ? m[1] : undefined;
}
