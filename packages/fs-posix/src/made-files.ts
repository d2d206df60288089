/**
 * The names a backend made itself as regular files and has not moved or removed since: a copy it created with
 * `O_EXCL | O_NOFOLLOW`, or the new name of a file it renamed after checking that it was one. Renaming such a name
 * again needs no `lstat` to learn that it is a regular file (the fan-out renames each copy and each taken message
 * once more, so this saves four of about fifteen `lstat`s per message at three destinations).
 *
 * What it does not cover: another process replacing one of these names with a symlink or a directory meanwhile. Only
 * an operator or an attacker writes protocol names this worker owns; the `lstat` it saves had the same race, only a
 * shorter one. Everything else (a name gone, a target already there) is still decided by the rename itself and the
 * checks after it.
 */
export class MadeFiles {
  readonly #names = new Set<string>();

  /** At most this many names are remembered; past it the set starts again (a miss only costs the lstat). */
  static readonly LIMIT = 4096;

  /** Remember `name` as a regular file this backend made. */
  note(name: string): void {
    if (this.#names.size >= MadeFiles.LIMIT) this.#names.clear();
    this.#names.add(name);
  }

  /** Forget `name` (moved or removed); whether it was remembered. */
  take(name: string): boolean {
    return this.#names.delete(name);
  }
}
