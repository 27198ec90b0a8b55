import type {
  Sandbox,
  SandboxCapabilities,
  SandboxOpenOptions,
  SandboxSession,
} from "@mcp-optimizer/core";

/**
 * Several sandboxes behind one optimizer: a session named `<mode>:...` opens in that mode.
 * Lets the benchmark time one program on every sandbox against the same started servers.
 * close() leaves the inner sandboxes open; the benchmark closes them itself.
 */
export class ModeRouterSandbox implements Sandbox {
  readonly mode = "benchmark";

  constructor(private readonly sandboxes: ReadonlyMap<string, Sandbox>) {}

  async capabilities(): Promise<SandboxCapabilities> {
    return {
      mode: this.mode,
      available: true,
      isolation: "composite",
      details: { modes: [...this.sandboxes.keys()] },
    };
  }

  open(options: SandboxOpenOptions = {}): Promise<SandboxSession> {
    const mode = options.sessionId?.split(":")[0] ?? "";
    const sandbox = this.sandboxes.get(mode);
    if (!sandbox)
      return Promise.reject(new Error(`benchmark: no sandbox for session ${options.sessionId}`));
    return sandbox.open(options);
  }

  async close(): Promise<void> {}
}
