import type { ToolCatalog } from "../catalog/tool-catalog.js";
import type { McpServersConfig } from "../config/schema.js";
import type { Upstream } from "../contracts/upstream.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { UpstreamEvent } from "../upstream/mcp-upstream.js";

export interface UpstreamSetOptions {
  /** The tool catalog the upstreams' tools are listed in. */
  catalog: ToolCatalog;
  /** The parsed `mcpServers` config (for configured descriptions). */
  servers: McpServersConfig;
  /** Make connectAll() wait for every upstream and fail when one cannot be reached. Default false. */
  requireUpstreams?: boolean;
}

/**
 * The engine's upstream servers by name, and the catalog of their tools kept in step with
 * them: refreshed as each server connects, on reconnects and when a server's tool list changes.
 */
export class UpstreamSet {
  readonly byName = new Map<string, Upstream>();
  private started = false;
  private firstStarts: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: UpstreamSetOptions) {}

  add(upstream: Upstream): void {
    if (this.byName.has(upstream.name)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `Two upstreams are named "${upstream.name}".`,
      );
    }
    this.byName.set(upstream.name, upstream);
    upstream.onToolsChanged?.(() => {
      void this.refreshCatalog();
    });
  }

  list(): Upstream[] {
    return [...this.byName.values()];
  }

  /**
   * Starts every upstream in parallel and lists the servers in the catalog at once; each
   * server's tools join the catalog as it connects, so nothing waits for a slow server
   * (a call to it waits in `whenReady`). With `requireUpstreams`, waits for all of them and
   * throws the first failure.
   */
  async connectAll(): Promise<void> {
    this.started = true;
    const starts = this.list().map((u) => u.connect().then(() => this.refreshCatalog()));
    this.firstStarts = Promise.allSettled(starts);
    if (this.options.requireUpstreams) await Promise.all(starts);
    // A failed start is retried by the upstream itself; its calls report why it is down.
    else for (const start of starts) start.catch(() => {});
    await this.refreshCatalog();
  }

  /**
   * Waits until a server (by name or identifier) is connected and its tools are in the
   * catalog: at once when it is, up to its start timeout while it is starting. Throws
   * UPSTREAM_UNAVAILABLE (with its last start error) when it is down; does nothing for a
   * name that is no upstream.
   */
  async whenReady(server: string): Promise<void> {
    const name = this.byName.has(server)
      ? server
      : this.options.catalog.listServers().find((s) => s.identifier === server)?.name;
    const upstream = name === undefined ? undefined : this.byName.get(name);
    if (!upstream) return;
    const listed = () => this.options.catalog.listTools().some((t) => t.server === name);
    if (upstream.info().connected && listed()) return;
    await upstream.listTools(); // connects, or waits for the start in progress, or throws why not
    if (!listed()) await this.refreshCatalog();
  }

  /** Resolves when every upstream's first start has connected or failed (each within its start timeout). */
  async settled(): Promise<void> {
    await this.firstStarts;
  }

  /**
   * Waits for the servers a program names (by name or identifier) that are still starting, so
   * that what the engine infers from their tools' annotations is known; a server that is down
   * is left to fail the program's own call to it.
   */
  async whenAllReady(servers: Iterable<string>): Promise<void> {
    const pending = [...new Set(servers)].filter((s) => this.isStarting(s));
    if (pending.length > 0) await Promise.allSettled(pending.map((s) => this.whenReady(s)));
  }

  private isStarting(server: string): boolean {
    const name = this.byName.has(server)
      ? server
      : this.options.catalog.listServers().find((s) => s.identifier === server)?.name;
    const upstream = name === undefined ? undefined : this.byName.get(name);
    return upstream !== undefined && !upstream.info().connected;
  }

  /** Hears an upstream's connection events: a server that (re)connects gets its tools listed. */
  onEvent(event: UpstreamEvent): void {
    if (event.type === "connected" && this.started) void this.refreshCatalog();
  }

  async refreshCatalog(): Promise<void> {
    const servers = await Promise.all(
      this.list().map(async (u) => {
        let tools: Awaited<ReturnType<Upstream["listTools"]>> = [];
        if (u.info().connected) {
          try {
            tools = await u.listTools();
          } catch {}
        }
        const info = u.info();
        const configured = this.options.servers[u.name]?.description;
        const description =
          configured ??
          info.serverInfo?.title ??
          firstLine(info.instructions) ??
          info.serverInfo?.name;
        return { name: u.name, ...(description ? { description } : {}), tools };
      }),
    );
    this.options.catalog.update(servers);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.list().map((u) => u.close()));
  }
}

function firstLine(text: string | undefined): string | undefined {
  return text?.trim().split("\n")[0] || undefined;
}
