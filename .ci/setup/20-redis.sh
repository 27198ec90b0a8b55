# shellcheck shell=bash
# redis-server, redis-cli (and openssl, for the TLS test's certificates) for @mcp-optimizer/sessions-redis's tests. Sourced by .ci/run as
# root; idempotent. The tests start their own redis-server processes (single nodes and a
# 3-master cluster) on free loopback ports, so no system instance is needed: the one Debian's
# package starts, if any, is stopped and left disabled.

apt_install redis-server redis-tools openssl

if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
  $SUDO systemctl disable redis-server >/dev/null 2>&1 || true
fi
redis-server --version
