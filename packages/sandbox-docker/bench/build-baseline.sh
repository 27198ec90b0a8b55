#!/usr/bin/env bash
# Builds core and sandbox-docker as they were at a commit, for bench/sessions.ts to measure
# beside the working tree in one run:
#   bash bench/build-baseline.sh <commit> [dir]     then   BENCH_BASELINE=<dir> node --expose-gc bench/sessions.ts
# Uses the workspace's installed dependencies; writes nothing inside the repository.
set -euo pipefail
commit=${1:?usage: build-baseline.sh <commit> [dir]}
dir=${2:-${TMPDIR:-/tmp}/mcpo-bench-baseline}
root=$(git rev-parse --show-toplevel)
rm -rf "$dir" && mkdir -p "$dir"
git -C "$root" archive "$commit" packages/core packages/sandbox-docker tsconfig.base.json | tar -x -C "$dir"
# The workspace's installed dependencies, linked by absolute path; the baseline docker package
# sees the baseline core.
ln -s "$root/packages/core/node_modules" "$dir/packages/core/node_modules"
mkdir -p "$dir/packages/sandbox-docker/node_modules/@mcp-optimizer"
for entry in "$root"/packages/sandbox-docker/node_modules/* "$root"/packages/sandbox-docker/node_modules/@*/*; do
  name=${entry#"$root"/packages/sandbox-docker/node_modules/}
  case "$name" in @mcp-optimizer/* | @*) [ "$name" = "${name%/*}" ] && continue ;; esac
  [ "$name" = "@mcp-optimizer/core" ] && continue
  mkdir -p "$(dirname "$dir/packages/sandbox-docker/node_modules/$name")"
  ln -s "$(readlink -f "$entry")" "$dir/packages/sandbox-docker/node_modules/$name"
done
ln -s "$dir/packages/core" "$dir/packages/sandbox-docker/node_modules/@mcp-optimizer/core"
(cd "$dir/packages/core" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json)
(cd "$dir/packages/sandbox-docker" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json)
echo "$dir"
