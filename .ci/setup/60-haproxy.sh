# shellcheck shell=bash
# HAProxy (Debian's package) for apps/gateway's scale-out test and benchmark: the tests start
# their own haproxy processes on free loopback ports in front of gateway replicas they start,
# so no system instance is needed: one the package may have started is stopped and disabled.
# Sourced by .ci/run as root; idempotent.

apt_install haproxy

if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
  $SUDO systemctl stop haproxy || true
  $SUDO systemctl disable haproxy >/dev/null 2>&1 || true
fi
# No `| head`: under pipefail the writer's SIGPIPE (exit 141) would fail the run.
haproxy_version=$(haproxy -v)
echo "${haproxy_version%%$'\n'*}"
