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
  /** Fail connectAll() when an upstream cannot be reached. Default false. */
  requireUpstreams?: boolean;
}

/**
 * The engine's upstream servers by name, and the catalog of their tools kept in step with
 * them: refreshed after connecting, on reconnects and when a server's tool list changes.
 */
export class UpstreamSet {
  readonly byName = new Map<string, Upstream>();
  private connecting = false;

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

  /** Connects every upstream (in parallel), then lists their tools in the catalog. */
  async connectAll(): Promise<void> {
    this.connecting = true;
    await Promise.all(
      this.list().map(async (u) => {
        try {
          await u.connect();
        } catch (error) {
          if (this.options.requireUpstreams) throw error;
        }
      }),
    );
    await this.refreshCatalog();
  }

  /** Hears an upstream's connection events: a server that (re)connects gets its tools listed. */
  onEvent(event: UpstreamEvent): void {
    if (event.type === "connected" && this.connecting) void this.refreshCatalog();
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
