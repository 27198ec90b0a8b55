/**
 * The guest half of the bridge: the prelude every sandbox evaluates before any program.
 *
 * `guestMain` is shipped as source text (`guestMain.toString()`, see guest-source.ts) and
 * evaluated inside Node children, QuickJS on WASI and containers alike. So it must be
 * self-contained: no imports, no references to anything outside its body, and only
 * language features QuickJS has (ES2023, no Node or web APIs).
 */

/** What the runner around the prelude gives it. */
export interface GuestHost {
  /** Writes one frame (a JSON text without the newline) to the host. */
  send(line: string): void;
  /** Engine name and version, for the ready frame. */
  engine: string;
}

/** What the prelude gives back to the runner. */
export interface GuestEndpoint {
  /** Hands one frame line from the host to the guest. */
  receive(line: string): void;
  /** Reports an error that escaped the program (unhandled rejection, timer callback). */
  reportUncaught(error: unknown): void;
  /** Whether a program is running. */
  busy(): boolean;
}

export function guestMain(host: GuestHost): GuestEndpoint {
  // biome-ignore lint/suspicious/noExplicitAny: the guest's global object is untyped by nature.
  const g = globalThis as any;
  const AsyncFunction = (async () => {}).constructor as new (
    body: string,
  ) => () => Promise<unknown>;
  const PROTOCOL = 1;
  const MAX_LOG_ENTRY = 16 * 1024;

  interface Run {
    id: string;
    maxOutputBytes: number;
    maxLogBytes: number;
    logBytes: number;
    logsTruncated: boolean;
    finished: boolean;
  }
  type Pending = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

  let current: Run | undefined;
  let nextCallId = 1;
  const pending = new Map<number, Pending>();

  function send(frame: unknown): void {
    host.send(JSON.stringify(frame));
  }

  // UTF-8 length without TextEncoder (QuickJS has none).
  function utf8Length(text: string): number {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c < 0xdc00) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }

  function fitsIn(text: string, limit: number): boolean {
    if (text.length * 3 <= limit) return true;
    if (text.length > limit) return false;
    return utf8Length(text) <= limit;
  }

  class GuestError extends Error {
    code: string;
    constructor(code: string, message: string, name = "Error") {
      super(message);
      this.code = code;
      this.name = name;
    }
  }

  /** JSON with a path-precise complaint for what JSON cannot carry. */
  function serialize(value: unknown, what: string): string | undefined {
    if (value === undefined) return undefined;
    const seen: unknown[] = [];
    function check(v: unknown, at: string): void {
      const t = typeof v;
      if (t === "bigint") throw notJson(at, "a BigInt", "convert it with String(n) or Number(n)");
      if (t === "function") throw notJson(at, "a function", "return data, not functions");
      if (t === "symbol") throw notJson(at, "a symbol", "return strings instead");
      if (t === "number" && !Number.isFinite(v as number)) return;
      if (t !== "object" || v === null) return;
      if (seen.includes(v)) throw notJson(at, "a circular reference", "return a tree, not a graph");
      if (v instanceof Map) throw notJson(at, "a Map", "convert it with Object.fromEntries(map)");
      if (v instanceof Set) throw notJson(at, "a Set", "convert it with Array.from(set)");
      if (typeof (v as { toJSON?: unknown }).toJSON === "function") return;
      seen.push(v);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) check(v[i], `${at}[${i}]`);
      } else {
        for (const key of Object.keys(v as object)) {
          const child = (v as Record<string, unknown>)[key];
          if (child === undefined) continue;
          check(
            child,
            /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`,
          );
        }
      }
      seen.pop();
    }
    function notJson(at: string, kind: string, fix: string): GuestError {
      return new GuestError(
        "RESULT_NOT_SERIALIZABLE",
        `${what} is not JSON: ${at} is ${kind}; ${fix}.`,
        "TypeError",
      );
    }
    check(value, what === "state" ? "state" : "$");
    return JSON.stringify(value);
  }

  function inspect(value: unknown, depth: number): string {
    if (typeof value === "string") return depth === 0 ? value : JSON.stringify(value);
    if (value === undefined) return "undefined";
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "function") return `[Function ${value.name || "anonymous"}]`;
    if (typeof value === "symbol") return value.toString();
    if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`;
    if (typeof value !== "object" || value === null) return String(value);
    const seen: unknown[] = [];
    try {
      return JSON.stringify(value, (_key, v) => {
        if (typeof v === "bigint") return `${v}n`;
        if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
        if (v instanceof Map) return { "[Map]": Array.from(v.entries()) };
        if (v instanceof Set) return { "[Set]": Array.from(v.values()) };
        if (typeof v === "object" && v !== null) {
          if (seen.includes(v)) return "[Circular]";
          seen.push(v);
        }
        return v;
      });
    } catch {
      return String(value);
    }
  }

  function log(level: string, args: unknown[]): void {
    const run = current;
    if (!run || run.finished) return;
    if (run.logsTruncated) return;
    let text = args.map((a) => inspect(a, 0)).join(" ");
    if (text.length > MAX_LOG_ENTRY) text = `${text.slice(0, MAX_LOG_ENTRY)}… [entry cut]`;
    const size = utf8Length(text);
    if (run.logBytes + size > run.maxLogBytes) {
      run.logsTruncated = true;
      return;
    }
    run.logBytes += size;
    send({ t: "log", run: run.id, level, text });
  }

  const guestConsole = {
    log: (...args: unknown[]) => log("log", args),
    info: (...args: unknown[]) => log("info", args),
    warn: (...args: unknown[]) => log("warn", args),
    error: (...args: unknown[]) => log("error", args),
    debug: (...args: unknown[]) => log("debug", args),
    trace: (...args: unknown[]) => log("debug", args),
    dir: (value: unknown) => log("log", [value]),
    table: (value: unknown) => log("log", [value]),
  };

  function request(payload: Record<string, unknown>): Promise<unknown> {
    const run = current;
    if (!run || run.finished) {
      return Promise.reject(new GuestError("CODE_RUNTIME_ERROR", "No program is running."));
    }
    const id = nextCallId++;
    let line: string;
    try {
      line = JSON.stringify({ t: "call", id, run: run.id, ...payload });
    } catch (error) {
      return Promise.reject(
        new GuestError(
          "TOOL_INVALID_ARGUMENTS",
          `Tool arguments must be JSON: ${error instanceof Error ? error.message : String(error)}`,
          "TypeError",
        ),
      );
    }
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      host.send(line);
    });
  }

  function callTool(server: string, tool: string, args: unknown, raw: boolean): Promise<unknown> {
    if (args === undefined) args = {};
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      return Promise.reject(
        new GuestError(
          "TOOL_INVALID_ARGUMENTS",
          `${server}.${tool} takes one object of named arguments, e.g. ${server}.${tool}({ ... }); got ${Array.isArray(args) ? "an array" : typeof args}.`,
          "TypeError",
        ),
      );
    }
    return request({ kind: "tool", server, tool, args, raw });
  }

  const NOT_TOOLS = new Set([
    "then",
    "catch",
    "finally",
    "toJSON",
    "constructor",
    "valueOf",
    "inspect",
    "asymmetricMatch",
    "$$typeof",
    "nodeType",
  ]);

  function serverObject(server: { name: string; global: string; tools: string[] }): unknown {
    const fns: Record<string, unknown> = Object.create(null);
    const toolFn = (tool: string) => {
      let fn = fns[tool];
      if (!fn) {
        const call = (args?: unknown) => callTool(server.name, tool, args, false);
        Object.defineProperty(call, "name", { value: tool });
        (call as unknown as Record<string, unknown>).raw = (args?: unknown) =>
          callTool(server.name, tool, args, true);
        fn = call;
        fns[tool] = fn;
      }
      return fn;
    };
    const describe = () => `[server ${server.name}: ${server.tools.join(", ")}]`;
    return new Proxy(Object.create(null), {
      get(_target, prop) {
        if (prop === Symbol.toPrimitive) return describe;
        if (typeof prop !== "string") return undefined;
        if (prop === "toString") return describe;
        if (NOT_TOOLS.has(prop)) return undefined;
        return toolFn(prop);
      },
      has(_target, prop) {
        return typeof prop === "string" && server.tools.includes(prop);
      },
      ownKeys() {
        return server.tools.slice();
      },
      getOwnPropertyDescriptor(_target, prop) {
        if (typeof prop !== "string" || !server.tools.includes(prop)) return undefined;
        return { value: toolFn(prop), enumerable: true, configurable: true, writable: false };
      },
      set() {
        return false;
      },
    });
  }

  function installGlobals(frame: {
    servers: { name: string; global: string; tools: string[] }[];
    state: unknown;
  }) {
    g.console = guestConsole;
    g.state = frame.state && typeof frame.state === "object" ? frame.state : {};
    for (const server of frame.servers) g[server.global] = serverObject(server);
    g.mcp = Object.freeze({
      servers: frame.servers.map((s) => ({
        name: s.name,
        global: s.global,
        tools: s.tools.length,
      })),
      search: (query: string, options?: Record<string, unknown>) =>
        request({ kind: "search", query: String(query), options: options ?? {} }),
      describe: (name: string) => request({ kind: "describe", name: String(name) }),
      call: (server: string, tool: string, args?: unknown, options?: { raw?: boolean }) =>
        callTool(String(server), String(tool), args, options?.raw === true),
    });
  }

  function errorFrame(run: Run, error: unknown): void {
    run.finished = true;
    let code: string | undefined;
    let name = "Error";
    let message: string;
    let stack: string | undefined;
    if (error instanceof Error) {
      name = error.name;
      message = error.message;
      stack = typeof error.stack === "string" ? error.stack : undefined;
      const c = (error as { code?: unknown }).code;
      if (typeof c === "string") code = c;
      if (error instanceof SyntaxError && !code) code = "CODE_SYNTAX_ERROR";
      if (!code && /out of memory/i.test(message)) code = "SANDBOX_MEMORY";
      if (!code && /interrupted/i.test(message)) code = "SANDBOX_TIMEOUT";
    } else {
      message = `Uncaught ${inspect(error, 1)}`;
    }
    if (stack && stack.length > 4000) stack = `${stack.slice(0, 4000)}…`;
    send({ t: "error", run: run.id, error: { code, name, message, stack } });
  }

  function finish(run: Run, value: unknown): void {
    if (run.finished) return;
    let valueJson: string | undefined;
    let stateJson: string;
    try {
      valueJson = serialize(value, "The returned value");
      stateJson = serialize(g.state === undefined ? {} : g.state, "state") ?? "{}";
      if (stateJson[0] !== "{") {
        throw new GuestError(
          "RESULT_NOT_SERIALIZABLE",
          "state must stay a plain object; store values under keys, e.g. state.items = [...].",
          "TypeError",
        );
      }
    } catch (error) {
      errorFrame(run, error);
      return;
    }
    const size = (valueJson ? valueJson.length : 0) + stateJson.length;
    if (
      size > run.maxOutputBytes / 3 &&
      !fitsIn(`${valueJson ?? ""}${stateJson}`, run.maxOutputBytes)
    ) {
      errorFrame(
        run,
        new GuestError(
          "SANDBOX_OUTPUT_LIMIT",
          `The result is larger than ${Math.round(run.maxOutputBytes / 1024)} KB. Filter, aggregate or slice the data in code and return only what is needed.`,
          "RangeError",
        ),
      );
      return;
    }
    run.finished = true;
    host.send(
      `{"t":"done","run":${JSON.stringify(run.id)}${valueJson === undefined ? "" : `,"value":${valueJson}`},"state":${stateJson}${run.logsTruncated ? ',"logsTruncated":true' : ""}}`,
    );
  }

  function start(frame: Record<string, unknown>): void {
    if (current && !current.finished) {
      send({
        t: "error",
        run: String(frame.id),
        error: { code: "BRIDGE_PROTOCOL_ERROR", message: "A program is already running." },
      });
      return;
    }
    const limits = (frame.limits ?? {}) as Record<string, number>;
    const run: Run = {
      id: String(frame.id),
      maxOutputBytes: limits.maxOutputBytes ?? 4 * 1024 * 1024,
      maxLogBytes: limits.maxLogBytes ?? 64 * 1024,
      logBytes: 0,
      logsTruncated: false,
      finished: false,
    };
    current = run;
    pending.clear();
    let program: () => Promise<unknown>;
    try {
      installGlobals(frame as never);
      program = new AsyncFunction(String(frame.code));
    } catch (error) {
      errorFrame(run, error);
      return;
    }
    program.call(undefined).then(
      (value) => finish(run, value),
      (error) => {
        if (!run.finished) errorFrame(run, error);
      },
    );
  }

  function settle(frame: Record<string, unknown>): void {
    const entry = pending.get(frame.id as number);
    if (!entry) return;
    pending.delete(frame.id as number);
    if (frame.ok === true) {
      entry.resolve(frame.value);
    } else {
      const e = (frame.error ?? {}) as { code?: string; message?: string };
      const error = new GuestError(
        e.code ?? "INTERNAL_ERROR",
        e.message ?? "The host refused the call.",
        "ToolError",
      );
      entry.reject(error);
    }
  }

  send({ t: "ready", protocol: PROTOCOL, engine: host.engine });

  return {
    receive(line: string): void {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(line);
      } catch {
        return;
      }
      if (frame.t === "run") start(frame);
      else if (frame.t === "result") settle(frame);
    },
    reportUncaught(error: unknown): void {
      if (current && !current.finished) {
        log("error", [`Uncaught (outside the program's await chain): ${inspect(error, 0)}`]);
      }
    },
    busy(): boolean {
      return current !== undefined && !current.finished;
    },
  };
}
