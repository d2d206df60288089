#!/usr/bin/env bash
# The README's first command: three local spools, a few messages, one fan-out, then status.
#   pnpm install --frozen-lockfile && pnpm build && pnpm demo
# Spools go to ./demo-spools (or $FANOUT_DEMO_DIR); each run starts from fresh spools.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$repo/apps/cli/bin/fanout.cjs"
if [[ ! -f "$repo/apps/cli/dist/index.js" ]]; then
  echo "demo: apps/cli is not built; run: pnpm build" >&2
  exit 2
fi
fanout() { node "$bin" "$@"; }

demo="${FANOUT_DEMO_DIR:-$PWD/demo-spools}"
rm -rf "$demo/inbox" "$demo/archive" "$demo/mirror"
mkdir -p "$demo"
# Keep the demo's output out of git without touching the repository's .gitignore.
printf '*\n' > "$demo/.gitignore"
cd "$demo"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step fanout init inbox archive mirror
fanout init inbox archive mirror

step 'printf ... | fanout enqueue inbox   (x3, plus one file)'
printf 'hello from the fanout demo\n' | fanout enqueue inbox
printf 'message two\n' | fanout enqueue inbox
printf 'message three\n' | fanout enqueue inbox
printf 'a message read from a file\n' > note.txt
fanout enqueue inbox note.txt
rm note.txt

step fanout status inbox
fanout status inbox

step fanout run --from inbox --to archive --to mirror
fanout run --from inbox --to archive --to mirror

step fanout status inbox archive mirror
fanout status inbox archive mirror

step "ls $demo/archive"
ls "$demo/archive"

printf '\nDone. The spools are in %s; try: node %s consume %s/archive --exec cat\n' "$demo" "${bin#"$repo/"}" "$demo"
