import { readdirSync, readFileSync } from "node:fs";

export interface Distribution {
  runs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

export function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    runs: samples.length,
    meanMs: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
    p50Ms: round(at(0.5)),
    p95Ms: round(at(0.95)),
    minMs: round(sorted[0] ?? 0),
    maxMs: round(sorted.at(-1) ?? 0),
    samplesMs: samples.map(round),
  };
}

/** Resident memory of this process and every descendant process, in bytes (Linux /proc). */
export function treeRssBytes(root = process.pid): number {
  const own = process.memoryUsage().rss;
  let children: Map<number, number[]>;
  try {
    children = new Map();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const list = children.get(ppid) ?? [];
        list.push(Number(entry));
        children.set(ppid, list);
      } catch {}
    }
  } catch {
    return own;
  }
  let total = own;
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      total += kb * 1024;
    } catch {}
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Anonymous (resident) memory of one container's cgroup, where the engine is local. */
function containerRssBytes(id: string): number | undefined {
  const candidates: [string, RegExp][] = [
    [`/sys/fs/cgroup/memory/docker/${id}/memory.stat`, /^total_rss (\d+)$/m],
    [`/sys/fs/cgroup/memory/system.slice/docker-${id}.scope/memory.stat`, /^total_rss (\d+)$/m],
    [`/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.stat`, /^anon (\d+)$/m],
    [`/sys/fs/cgroup/docker/${id}/memory.stat`, /^anon (\d+)$/m],
  ];
  for (const [file, pattern] of candidates) {
    try {
      const match = pattern.exec(readFileSync(file, "utf8"));
      if (match) return Number(match[1]);
    } catch {}
  }
  return undefined;
}

/**
 * Resident memory of the running sandbox containers this process started (docker, gvisor),
 * read from their cgroups: the total and the count. Undefined when there are none or the
 * engine is not on this machine.
 */
export async function containersRss(): Promise<{ bytes: number; count: number } | undefined> {
  try {
    const docker = (await import("@mcp-optimizer/sandbox-docker")) as {
      listSandboxContainers(): Promise<{ id: string; ownerPid: number; state: string }[]>;
    };
    const mine = (await docker.listSandboxContainers()).filter(
      (c) => c.ownerPid === process.pid && c.state === "running",
    );
    if (mine.length === 0) return undefined;
    let bytes = 0;
    for (const c of mine) {
      const one = containerRssBytes(c.id);
      if (one === undefined) return undefined;
      bytes += one;
    }
    return { bytes, count: mine.length };
  } catch {
    return undefined;
  }
}
