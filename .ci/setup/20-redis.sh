# shellcheck shell=bash
# redis-server and redis-cli for @mcp-optimizer/sessions-redis's tests, and openssl for the
# TLS test's throwaway certificates. Sourced by .ci/run as root; idempotent. The tests start
# their own redis-server processes (single nodes, a Sentinel, a 3-master cluster) on free
# loopback ports, so no system instance is needed: one Debian's package may have started is
# stopped and disabled, so that it holds no port and no memory during the run.

apt_install redis-server redis-tools openssl

if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
  $SUDO systemctl disable redis-server >/dev/null 2>&1 || true
fi
redis-server --version
