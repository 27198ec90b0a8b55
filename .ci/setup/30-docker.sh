# shellcheck shell=bash
# A Docker engine for @mcp-optimizer/sandbox-docker's tests: Debian's docker.io, with crun
# registered as a second OCI runtime (the tests switch runtimes with it) and gVisor's runsc
# as a third (mode "gvisor"; ptrace platform, which needs no KVM, and no network stack of its
# own). Sourced by .ci/run as root; idempotent. Builds and pulls nothing: the tests build
# their own image offline. No bridge and no iptables: the sandbox runs containers with
# network mode "none" only.

apt_install docker.io crun runsc

mcpo_docker_configure() {
  local file=/etc/docker/daemon.json
  $SUDO mkdir -p /etc/docker
  # Merge, so that settings someone else put there survive.
  $SUDO node -e '
    const fs = require("node:fs");
    const file = process.argv[1];
    let conf = {};
    try { conf = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
    conf.runtimes = {
      ...(conf.runtimes ?? {}),
      crun: { path: "/usr/bin/crun" },
      runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--platform=ptrace", "--network=none"] },
    };
    fs.writeFileSync(file, JSON.stringify(conf, null, 2) + "\n");
  ' "$file"
}

mcpo_docker_wait() {
  local i
  for i in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "dockerd did not answer within 60 s; its log:" >&2
  tail -n 50 /var/log/mcpo-dockerd.log >&2 || true
  return 1
}

# crun refuses hybrid cgroup hosts (v1 controllers plus a cgroup2 mount) while any controller
# sits in the cgroup2 hierarchy ("cgroups in hybrid mode not supported"). On such hosts only
# hugetlb does: mount it as v1, which takes it out of cgroup2. Pure v1 or v2 hosts are left alone.
mcpo_cgroup_hybrid_fix() {
  local unified=/sys/fs/cgroup/unified
  [ -r "$unified/cgroup.controllers" ] || return 0
  if grep -qw hugetlb "$unified/cgroup.controllers" && [ -d /sys/fs/cgroup/memory ]; then
    $SUDO mkdir -p /sys/fs/cgroup/hugetlb
    $SUDO mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
  fi
  if [ -s "$unified/cgroup.controllers" ]; then
    echo "note: cgroup2 still has controllers ($(cat "$unified/cgroup.controllers")): crun may refuse to start containers" >&2
  fi
}

mcpo_cgroup_hybrid_fix
mcpo_docker_configure
if docker info >/dev/null 2>&1; then
  # Running already: make it re-read daemon.json (runtimes reload on SIGHUP).
  if [[ $(docker info --format '{{json .Runtimes}}') != *'"runsc"'* ]]; then
    $SUDO kill -HUP "$(cat /var/run/docker.pid)" || true
    sleep 1
  fi
else
  echo "starting dockerd (log: /var/log/mcpo-dockerd.log)"
  $SUDO sh -c 'nohup setsid dockerd --iptables=false --ip6tables=false --bridge=none >/var/log/mcpo-dockerd.log 2>&1 </dev/null &'
fi
mcpo_docker_wait
for _ in $(seq 1 10); do
  [[ $(docker info --format '{{json .Runtimes}}' 2>/dev/null) == *'"runsc"'* ]] && break
  sleep 1
done
docker info --format 'docker {{.ServerVersion}}, runtimes: {{range $k, $v := .Runtimes}}{{$k}} {{end}}, cgroup {{.CgroupVersion}}'
