/**
 * The guest half of the bridge: the prelude every sandbox evaluates before any program.
 *
 * `guestMain` is shipped as source text (`guestMain.toString()`, see guest-source.ts) and
 * evaluated inside Node realms, QuickJS on WASI and containers alike. So it must be
 * self-contained: no imports, no references to anything outside its body, and only
 * language features QuickJS has (ES2023, no Node or web APIs).
 *
 * Programs run in the same realm as the prelude. Before any program, the prelude takes every
 * built-in it calls and freezes the built-ins (`harden()`): no run can change what the
 * prelude relies on or what a later run finds. After each run it removes the globals the
 * run left and restores the ones it replaced; `clean()` says whether that worked, so that a
 * runner can start a fresh realm when it did not. The prelude also avoids lookups a program
 * could redirect on its own objects (iteration protocols, `instanceof`, regular expressions).
 */

/** What the runner around the prelude gives it. */
export interface GuestHost {
  /** Writes one frame (a JSON text without the newline) to the host. */
  send(line: string): void;
  /** Engine name and version, for the ready frame. */
  engine: string;
  /**
   * Whether the current run met a limit the engine enforces itself ("memory", "timeout", or
   * ""): the only source of SANDBOX_MEMORY and SANDBOX_TIMEOUT for an error the program's
   * realm saw. Runners whose engine cannot say (Node: an exhausted heap ends the process, the
   * host's deadline ends the run) leave it out.
   */
  limitHit?(): string;
}

/** What the prelude gives back to the runner. */
export interface GuestEndpoint {
  /** Hands one frame line from the host to the guest. */
  receive(line: string): void;
  /** Reports an error that escaped the program (unhandled rejection, timer callback). */
  reportUncaught(error: unknown): void;
  /** Whether a program is running. */
  busy(): boolean;
  /**
   * Whether the realm is fit for another run: the last run ended and its globals were put
   * back. False means the runner should start the next run in a fresh realm.
   */
  clean(): boolean;
}

export function guestMain(host: GuestHost): GuestEndpoint {
  // --- built-ins, taken before any program runs ------------------------------------------
  // biome-ignore lint/suspicious/noExplicitAny: the guest's global object is untyped by nature.
  const g = globalThis as any;
  const O = Object;
  const R = Reflect;
  const apply = R.apply;
  const ownKeys = R.ownKeys;
  const getOwn = R.getOwnPropertyDescriptor;
  const defineOwn = R.defineProperty;
  const deleteOwn = R.deleteProperty;
  const objectKeys = O.keys;
  const objectCreate = O.create;
  const objectFreeze = O.freeze;
  const TypeErrorCtor = TypeError;
  const isArray = Array.isArray;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const numberIsFinite = Number.isFinite;
  const round = Math.round;
  const PromiseCtor = Promise;
  const promiseThen = Promise.prototype.then;
  const ProxyCtor = Proxy;
  const ErrorCtor = Error;
  const SyntaxErrorCtor = SyntaxError;
  const MapCtor = Map;
  const SetCtor = Set;
  const WeakMapCtor = WeakMap;
  const weakMapGet = WeakMap.prototype.get;
  const weakMapSet = WeakMap.prototype.set;
  const StringCtor = String;
  // Taken now: a program must not be able to replace what reports its limits.
  const limitHit = typeof host.limitHit === "function" ? host.limitHit : undefined;
  const hasInstance = Function.prototype[Symbol.hasInstance];
  const toPrimitive = Symbol.toPrimitive;
  const symbolToString = Symbol.prototype.toString;
  const charCodeAt = String.prototype.charCodeAt;
  const stringSlice = String.prototype.slice;
  const AsyncFunction = (async () => {}).constructor as new (
    ...paramsAndBody: string[]
  ) => (...args: unknown[]) => Promise<unknown>;
  const call = <T>(fn: unknown, self: unknown, ...args: unknown[]): T =>
    apply(fn as (...a: unknown[]) => T, self, args);
  const isA = (ctor: unknown, value: unknown): boolean => call<boolean>(hasInstance, ctor, value);
  const slice = (text: string, start: number, end?: number): string =>
    end === undefined ? call(stringSlice, text, start) : call(stringSlice, text, start, end);
  const then = (p: Promise<unknown>, ok: (v: unknown) => void, fail: (e: unknown) => void) =>
    call(promiseThen, p, ok, fail);
  const rejected = (error: unknown): Promise<never> =>
    new PromiseCtor<never>((_resolve, reject) => reject(error));
  const chain = (p: Promise<unknown>, ok: (v: unknown) => unknown): Promise<unknown> =>
    call(promiseThen, p, ok);

  harden();

  const PROTOCOL = 1;
  const MAX_LOG_ENTRY = 16 * 1024;
  /** Deepest nesting of a returned value, `state` or tool arguments (the host refuses deeper frames). */
  const MAX_DEPTH = 100;

  interface Run {
    id: string;
    maxOutputBytes: number;
    maxLogBytes: number;
    logBytes: number;
    logsTruncated: boolean;
    finished: boolean;
    /** Tool and discovery calls waiting for the host, by call id. */
    pending: Record<number, { resolve: (value: unknown) => void; reject: (e: unknown) => void }>;
  }

  let current: Run | undefined;
  let nextCallId = 1;
  let realmClean = true;
  // The globals before any program ran: what each run's end puts back.
  const baseline: { key: PropertyKey; desc: PropertyDescriptor }[] = [];
  const baselineKeys = objectCreate(null) as Record<string, true>;
  const baselineProto = R.getPrototypeOf(g);
  const isExtensible = R.isExtensible;
  const getPrototypeOf = R.getPrototypeOf;
  const setProto = R.setPrototypeOf;
  {
    const keys = ownKeys(g);
    for (let i = 0; i < keys.length; i++) {
      const desc = getOwn(g, keys[i]!);
      if (desc) baseline[baseline.length] = { key: keys[i]!, desc };
      if (typeof keys[i] === "string") baselineKeys[keys[i] as string] = true;
    }
  }

  /**
   * Freezes every built-in reachable from the global object (the global object itself stays
   * open: each run's end puts its bindings back), so no run can change what a later run
   * finds. Assigning to an inherited name that programs commonly set on their own objects
   * (`err.name = ...`, `obj.toString = ...`) still works: those properties become accessors
   * whose setter defines the property on the object assigned to, as Hardened JavaScript does.
   */
  function harden(): void {
    const WeakSetCtor = WeakSet;
    const weakHas = WeakSetCtor.prototype.has;
    const weakAdd = WeakSetCtor.prototype.add;
    const getProto = R.getPrototypeOf;
    const seen = new WeakSetCtor<object>();
    const queue: unknown[] = [];
    const visit = (v: unknown) => {
      if ((typeof v === "object" && v !== null) || typeof v === "function") queue[queue.length] = v;
    };
    const overridable = (o: object): string[] | undefined => {
      if (o === O.prototype) return ["constructor", "toString", "toLocaleString", "valueOf"];
      if (o === Function.prototype) return ["constructor", "toString"];
      if (o === Array.prototype) return ["constructor", "toString"];
      if (o === PromiseCtor.prototype) return ["constructor"];
      if (
        call<boolean>(O.prototype.isPrototypeOf, ErrorCtor.prototype, o) ||
        o === ErrorCtor.prototype
      )
        return ["constructor", "message", "name", "toString"];
      return undefined;
    };
    const keys = ownKeys(g);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwn(g, keys[i]!);
      if (d) {
        visit(d.value);
        visit(d.get);
        visit(d.set);
      }
    }
    visit(getProto(g));
    visit(getProto(async () => {}));
    visit(getProto(function* () {}));
    visit(getProto(async function* () {}));
    while (queue.length > 0) {
      const o = queue[queue.length - 1] as object;
      queue.length--;
      if (o === g || call<boolean>(weakHas, seen, o)) continue;
      call(weakAdd, seen, o);
      try {
        hardenOne(o);
      } catch {
        // An exotic object (a proxy whose traps refuse) stays as it is.
      }
    }

    function hardenOne(o: object): void {
      const names = overridable(o);
      const own = ownKeys(o);
      for (let i = 0; i < own.length; i++) {
        const key = own[i]!;
        const d = getOwn(o, key);
        if (!d) continue;
        visit(d.value);
        visit(d.get);
        visit(d.set);
        if (names && typeof key === "string" && includes(names, key) && d.writable) {
          const value = d.value;
          defineOwn(o, key, {
            get: function get() {
              return value;
            },
            set: function set(this: unknown, next: unknown) {
              if (this === o) {
                throw new TypeErrorCtor(
                  `Cannot assign to read only property '${key}' of a built-in`,
                );
              }
              if ((typeof this === "object" && this !== null) || typeof this === "function") {
                defineOwn(this as object, key, {
                  value: next,
                  writable: true,
                  enumerable: true,
                  configurable: true,
                });
              }
            },
            enumerable: d.enumerable === true,
            configurable: false,
          });
        }
      }
      visit(getProto(o));
      objectFreeze(o);
    }
  }

  function send(frame: unknown): void {
    host.send(stringify(frame));
  }

  function push<T>(list: T[], item: T): void {
    list[list.length] = item;
  }

  function includes(list: readonly unknown[], item: unknown): boolean {
    for (let i = 0; i < list.length; i++) if (list[i] === item) return true;
    return false;
  }

  function join(list: readonly string[], separator: string): string {
    let out = "";
    for (let i = 0; i < list.length; i++) out += i === 0 ? list[i] : separator + list[i];
    return out;
  }

  function isIdentifier(key: string): boolean {
    if (key.length === 0) return false;
    for (let i = 0; i < key.length; i++) {
      const c = call<number>(charCodeAt, key, i);
      const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95;
      if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
    }
    return true;
  }

  // UTF-8 length without TextEncoder (QuickJS has none).
  function utf8Length(text: string): number {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = call<number>(charCodeAt, text, i);
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

  class GuestErrorClass extends ErrorCtor {
    declare code: string;
    constructor(code: string, message: string, name = "Error") {
      super(message);
      defineOwn(this, "code", { value: code, writable: true, configurable: true });
      defineOwn(this, "name", { value: name, writable: true, configurable: true });
    }
  }

  // The codes of the errors this prelude made. A program reaches the class through
  // `error.constructor` and can set `code` on any error, so only this map says which code a
  // failed run reports (a program must not pass its failure off as a timeout or a denial).
  const ownCodes = new WeakMapCtor<object, string>();
  const GuestError = function GuestError(code: string, message: string, name?: string) {
    const error = new GuestErrorClass(code, message, name);
    call(weakMapSet, ownCodes, error, code);
    return error;
  } as unknown as new (
    code: string,
    message: string,
    name?: string,
  ) => GuestErrorClass;

  /**
   * JSON with a path-precise complaint for what JSON cannot carry. `lenient` (tool arguments)
   * only refuses what the host would: nesting deeper than MAX_DEPTH, cycles, BigInts.
   */
  function serialize(value: unknown, what: string, lenient = false): string | undefined {
    if (value === undefined) return undefined;
    const seen: unknown[] = [];
    function check(v: unknown, at: string, depth: number): void {
      const t = typeof v;
      if (t === "bigint") throw notJson(at, "a BigInt", "convert it with String(n) or Number(n)");
      if (lenient && t !== "object") return;
      if (t === "function") throw notJson(at, "a function", "return data, not functions");
      if (t === "symbol") throw notJson(at, "a symbol", "return strings instead");
      if (t === "number" && !numberIsFinite(v as number)) return;
      if (t !== "object" || v === null) return;
      if (depth > MAX_DEPTH) {
        throw notJson(at, `nested deeper than ${MAX_DEPTH} levels`, "return a flatter structure");
      }
      if (includes(seen, v))
        throw notJson(at, "a circular reference", "return a tree, not a graph");
      if (!lenient && isA(MapCtor, v)) {
        throw notJson(at, "a Map", "convert it with Object.fromEntries(map)");
      }
      if (!lenient && isA(SetCtor, v))
        throw notJson(at, "a Set", "convert it with Array.from(set)");
      if (typeof (v as { toJSON?: unknown }).toJSON === "function") return;
      push(seen, v);
      if (isArray(v)) {
        for (let i = 0; i < v.length; i++) check(v[i], `${at}[${i}]`, depth + 1);
      } else {
        const keys = objectKeys(v as object);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!;
          const child = (v as Record<string, unknown>)[key];
          if (child === undefined) continue;
          check(child, isIdentifier(key) ? `${at}.${key}` : `${at}[${stringify(key)}]`, depth + 1);
        }
      }
      seen.length--;
    }
    function notJson(at: string, kind: string, fix: string): GuestErrorClass {
      return new GuestError(
        "RESULT_NOT_SERIALIZABLE",
        `${what} is not JSON: ${at} is ${kind}; ${fix}.`,
        "TypeError",
      );
    }
    check(value, what === "state" ? "state" : "$", 0);
    return stringify(value);
  }

  function inspect(value: unknown, depth: number): string {
    if (typeof value === "string") return depth === 0 ? value : stringify(value);
    if (value === undefined) return "undefined";
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "function") return `[Function ${value.name || "anonymous"}]`;
    if (typeof value === "symbol") return call(symbolToString, value);
    if (typeof value !== "object" || value === null) return StringCtor(value);
    if (isA(ErrorCtor, value)) {
      // "Name: message" first, then the frames (some engines' stacks hold only the frames).
      const e = value as Error;
      const head = `${e.name}: ${e.message}`;
      const stack = typeof e.stack === "string" ? e.stack : "";
      if (slice(stack, 0, head.length) === head) return stack;
      return stack ? `${head}\n${stack}` : head;
    }
    const seen: unknown[] = [];
    try {
      return stringify(value, (_key, v) => {
        if (typeof v === "bigint") return `${v}n`;
        if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
        if (isA(MapCtor, v)) return { "[Map]": "Map" };
        if (isA(SetCtor, v)) return { "[Set]": "Set" };
        if (typeof v === "object" && v !== null) {
          if (includes(seen, v)) return "[Circular]";
          push(seen, v);
        }
        return v;
      });
    } catch {
      try {
        return StringCtor(value);
      } catch {
        return "[object]";
      }
    }
  }

  function log(run: Run, level: string, args: ArrayLike<unknown>): void {
    if (current !== run || run.finished || run.logsTruncated) return;
    const parts: string[] = [];
    for (let i = 0; i < args.length; i++) push(parts, inspect(args[i], 0));
    let text = join(parts, " ");
    if (text.length > MAX_LOG_ENTRY) text = `${slice(text, 0, MAX_LOG_ENTRY)}… [entry cut]`;
    const size = utf8Length(text);
    if (run.logBytes + size > run.maxLogBytes) {
      run.logsTruncated = true;
      return;
    }
    run.logBytes += size;
    send({ t: "log", run: run.id, level, text });
  }

  /** A console for one run: a late call from an earlier run's leftovers goes nowhere. */
  function consoleFor(run: Run): unknown {
    const at =
      (level: string) =>
      (...args: unknown[]) =>
        log(run, level, args);
    return objectFreeze({
      log: at("log"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      debug: at("debug"),
      trace: at("debug"),
      dir: (value: unknown) => log(run, "log", [value]),
      table: (value: unknown) => log(run, "log", [value]),
    });
  }

  function request(run: Run, payload: string): Promise<unknown> {
    if (current !== run || run.finished) {
      return rejected(new GuestError("CODE_RUNTIME_ERROR", "No program is running."));
    }
    const id = nextCallId++;
    return new PromiseCtor((resolve, reject) => {
      run.pending[id] = { resolve, reject };
      host.send(`{"t":"call","id":${id},"run":${stringify(run.id)},${payload}}`);
    });
  }

  function callTool(
    run: Run,
    server: string,
    tool: string,
    args: unknown,
    raw: boolean,
  ): Promise<unknown> {
    if (args === undefined) args = {};
    if (typeof args !== "object" || args === null || isArray(args)) {
      return rejected(
        new GuestError(
          "TOOL_INVALID_ARGUMENTS",
          `${server}.${tool} takes one object of named arguments, e.g. ${server}.${tool}({ ... }); got ${isArray(args) ? "an array" : typeof args}.`,
          "TypeError",
        ),
      );
    }
    let argsJson: string;
    try {
      argsJson = serialize(args, "The tool arguments", true) ?? "{}";
    } catch (error) {
      return rejected(
        new GuestError(
          "TOOL_INVALID_ARGUMENTS",
          `Tool arguments must be JSON: ${isA(ErrorCtor, error) ? (error as Error).message : StringCtor(error)}`,
          "TypeError",
        ),
      );
    }
    return request(
      run,
      `"kind":"tool","server":${stringify(server)},"tool":${stringify(tool)},"args":${argsJson},"raw":${raw}`,
    );
  }

  const NOT_TOOLS = objectCreate(null) as Record<string, true>;
  {
    const names =
      "then catch finally toJSON constructor valueOf inspect asymmetricMatch $$typeof nodeType";
    let start = 0;
    for (let i = 0; i <= names.length; i++) {
      if (i === names.length || call<number>(charCodeAt, names, i) === 32) {
        NOT_TOOLS[slice(names, start, i)] = true;
        start = i + 1;
      }
    }
  }

  function serverObject(
    run: Run,
    server: { name: string; global: string; tools: string[] },
  ): unknown {
    const tools: string[] = [];
    for (let i = 0; i < server.tools.length; i++) push(tools, StringCtor(server.tools[i]));
    const fns = objectCreate(null) as Record<string, unknown>;
    const toolFn = (tool: string) => {
      let fn = fns[tool];
      if (!fn) {
        const callIt = (args?: unknown) => callTool(run, server.name, tool, args, false);
        defineOwn(callIt, "name", { value: tool });
        defineOwn(callIt, "raw", {
          value: (args?: unknown) => callTool(run, server.name, tool, args, true),
          enumerable: true,
        });
        fn = callIt;
        fns[tool] = fn;
      }
      return fn;
    };
    const describe = () => `[server ${server.name}: ${join(tools, ", ")}]`;
    return new ProxyCtor(objectCreate(null), {
      get(_target, prop) {
        if (prop === toPrimitive) return describe;
        if (typeof prop !== "string") return undefined;
        if (prop === "toString") return describe;
        if (NOT_TOOLS[prop]) return undefined;
        return toolFn(prop);
      },
      has(_target, prop) {
        return typeof prop === "string" && includes(tools, prop);
      },
      ownKeys() {
        const keys: string[] = [];
        for (let i = 0; i < tools.length; i++) push(keys, tools[i]!);
        return keys;
      },
      getOwnPropertyDescriptor(_target, prop) {
        if (typeof prop !== "string" || !includes(tools, prop)) return undefined;
        return { value: toolFn(prop), enumerable: true, configurable: true, writable: false };
      },
      set() {
        return false;
      },
    });
  }

  /**
   * `skills.name(input)`: the host checks the input against the skill's schema and answers
   * with its code, which runs here, in the program's realm, with the same globals and host.
   */
  function runSkill(run: Run, name: string, input: unknown): Promise<unknown> {
    if (input === undefined) input = {};
    let inputJson: string;
    try {
      inputJson = serialize(input, "The skill input", true) ?? "{}";
    } catch (error) {
      return rejected(
        new GuestError(
          "SKILL_INVALID_INPUT",
          `Skill input must be JSON: ${isA(ErrorCtor, error) ? (error as Error).message : StringCtor(error)}`,
          "TypeError",
        ),
      );
    }
    return chain(
      request(run, `"kind":"skill","name":${stringify(name)},"input":${inputJson}`),
      (answer) => {
        const a = (answer && typeof answer === "object" ? answer : {}) as {
          code?: unknown;
          input?: unknown;
        };
        if (typeof a.code !== "string") {
          throw new GuestError("CODE_RUNTIME_ERROR", `skills.${name}: the host sent no code.`);
        }
        const skill = new AsyncFunction("input", a.code);
        return call(skill, undefined, a.input);
      },
    );
  }

  function skillsObject(run: Run): unknown {
    const fns = objectCreate(null) as Record<string, unknown>;
    return new ProxyCtor(objectCreate(null), {
      get(_target, prop) {
        if (typeof prop !== "string" || NOT_TOOLS[prop]) return undefined;
        if (prop === "toString") return () => "[skills]";
        let fn = fns[prop];
        if (!fn) {
          fn = (input?: unknown) => runSkill(run, prop, input);
          defineOwn(fn as object, "name", { value: prop });
          fns[prop] = fn;
        }
        return fn;
      },
      set() {
        return false;
      },
    });
  }

  /** Resolves to what `pick` makes of the host's answer to `payload`. */
  function requestThen(
    run: Run,
    payload: string,
    pick: (answer: unknown) => unknown,
  ): Promise<unknown> {
    return new PromiseCtor((resolve, reject) => {
      then(
        request(run, payload),
        (answer) => {
          try {
            resolve(pick(answer));
          } catch (error) {
            reject(error);
          }
        },
        reject,
      );
    });
  }

  /**
   * The run's `context`: its principal's keys, shared by all of that principal's sessions.
   * Every operation is one request to the host, which keeps versions and compare-and-set.
   */
  function contextFor(run: Run): unknown {
    const json = (value: unknown, what: string): string => {
      const text = serialize(value, what);
      if (text === undefined) {
        throw new GuestError(
          "INVALID_INPUT",
          `${what} is undefined; store null, or remove the key with context.delete(key).`,
          "TypeError",
        );
      }
      return text;
    };
    const fields = (op: string, key: unknown, extra: string): string => {
      if (typeof key !== "string") {
        throw new GuestError(
          "INVALID_INPUT",
          `context.${op}(key, ...) takes a string key; got ${key === null ? "null" : typeof key}.`,
          "TypeError",
        );
      }
      return `"kind":"context","op":"${op}","key":${stringify(key)}${extra}`;
    };
    const optionsOf = (options: unknown): string =>
      options === undefined
        ? ""
        : `,"options":${serialize(options, "The context options", true) ?? "{}"}`;
    const attempt = (build: () => string, pick: (answer: unknown) => unknown): Promise<unknown> => {
      let payload: string;
      try {
        payload = build();
      } catch (error) {
        return rejected(error);
      }
      return requestThen(run, payload, pick);
    };
    const same = (answer: unknown) => answer;
    return objectFreeze({
      get: (key: unknown) =>
        attempt(
          () => fields("get", key, ""),
          (answer) =>
            answer === null || answer === undefined
              ? undefined
              : (answer as { value: unknown }).value,
        ),
      set: (key: unknown, value: unknown, options?: unknown) =>
        attempt(
          () =>
            fields("set", key, `,"value":${json(value, "The context value")}${optionsOf(options)}`),
          same,
        ),
      delete: (key: unknown) => attempt(() => fields("delete", key, ""), same),
      list: (prefix?: unknown) =>
        attempt(
          () =>
            `"kind":"context","op":"list","prefix":${stringify(prefix === undefined ? "" : StringCtor(prefix))}`,
          same,
        ),
      update: (key: unknown, expected: unknown, next: unknown, options?: unknown) =>
        attempt(
          () =>
            fields(
              "update",
              key,
              `${expected === undefined ? ',"absent":true' : `,"expected":${json(expected, "The expected value")}`},"value":${json(next, "The new value")}${optionsOf(options)}`,
            ),
          same,
        ),
    });
  }

  /** Defines a global for this run; false when the program made that impossible. */
  function setGlobal(key: string, value: unknown): boolean {
    return defineOwn(g, key, { value, writable: true, enumerable: false, configurable: true });
  }

  function installGlobals(run: Run, frame: { servers?: unknown; state?: unknown }): void {
    const servers = isArray(frame.servers) ? frame.servers : [];
    const list: { name: string; global: string; tools: number }[] = [];
    let ok = setGlobal("console", consoleFor(run));
    ok =
      setGlobal("state", frame.state && typeof frame.state === "object" ? frame.state : {}) && ok;
    ok = setGlobal("skills", skillsObject(run)) && ok;
    ok = setGlobal("context", contextFor(run)) && ok;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i] as { name: string; global: string; tools: string[] };
      const tools = isArray(server.tools) ? server.tools : [];
      const entry = { name: StringCtor(server.name), global: StringCtor(server.global), tools };
      ok = setGlobal(entry.global, serverObject(run, entry)) && ok;
      push(list, { name: server.name, global: server.global, tools: tools.length });
    }
    ok =
      setGlobal(
        "mcp",
        objectFreeze({
          servers: objectFreeze(list),
          search: (query: string, options?: Record<string, unknown>) => {
            let optionsJson: string;
            try {
              optionsJson = serialize(options ?? {}, "The search options", true) ?? "{}";
            } catch (error) {
              return rejected(error);
            }
            return request(
              run,
              `"kind":"search","query":${stringify(StringCtor(query))},"options":${optionsJson}`,
            );
          },
          describe: (name: string) =>
            request(run, `"kind":"describe","name":${stringify(StringCtor(name))}`),
          handle: (id: string) =>
            request(run, `"kind":"handle","handle":${stringify(StringCtor(id))}`),
          capabilities: () => request(run, `"kind":"capabilities"`),
          call: (server: string, tool: string, args?: unknown, options?: { raw?: boolean }) =>
            callTool(run, StringCtor(server), StringCtor(tool), args, options?.raw === true),
        }),
      ) && ok;
    if (!ok) {
      realmClean = false;
      throw new GuestError(
        "CODE_RUNTIME_ERROR",
        "The sandbox could not set up the program's globals (an earlier program locked them).",
      );
    }
  }

  /** Puts the global object back as it was before any program: the next run starts clean. */
  function resetGlobals(): void {
    if (!isExtensible(g)) realmClean = false;
    if (getPrototypeOf(g) !== baselineProto && !setProto(g, baselineProto)) realmClean = false;
    const keys = ownKeys(g);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (typeof key === "string" && baselineKeys[key]) continue;
      if (typeof key !== "string" && includesKey(key)) continue;
      if (!deleteOwn(g, key)) realmClean = false;
    }
    for (let i = 0; i < baseline.length; i++) {
      const { key, desc } = baseline[i]!;
      const now = getOwn(g, key);
      if (
        now &&
        now.value === desc.value &&
        now.get === desc.get &&
        now.set === desc.set &&
        now.writable === desc.writable &&
        now.configurable === desc.configurable
      ) {
        continue;
      }
      if (!defineOwn(g, key, desc)) realmClean = false;
    }
  }

  function includesKey(key: PropertyKey): boolean {
    for (let i = 0; i < baseline.length; i++) if (baseline[i]!.key === key) return true;
    return false;
  }

  function end(run: Run): void {
    run.finished = true;
    run.pending = objectCreate(null);
    resetGlobals();
  }

  function errorFrame(run: Run, error: unknown): void {
    if (run.finished) return;
    let code: string | undefined;
    let name = "Error";
    let message: string;
    let stack: string | undefined;
    try {
      if (isA(ErrorCtor, error)) {
        const e = error as Error & { code?: unknown };
        name = StringCtor(e.name);
        message = StringCtor(e.message);
        stack = typeof e.stack === "string" ? e.stack : undefined;
        code = call<string | undefined>(weakMapGet, ownCodes, error);
        if (!code && isA(SyntaxErrorCtor, error)) code = "CODE_SYNTAX_ERROR";
        // The engine's own limits, as the runner saw them: never from the error's name or
        // text, which a program writes (the host also checks a timeout against its deadline).
        if (!code && limitHit) {
          const hit = call<string>(limitHit, host);
          if (hit === "memory") code = "SANDBOX_MEMORY";
          else if (hit === "timeout") code = "SANDBOX_TIMEOUT";
        }
      } else {
        message = `Uncaught ${inspect(error, 1)}`;
      }
    } catch {
      message = "Uncaught error (it could not be read)";
    }
    if (stack && stack.length > 4000) stack = `${slice(stack, 0, 4000)}…`;
    end(run);
    send({ t: "error", run: run.id, error: { code, name, message, stack } });
  }

  function finish(run: Run, value: unknown): void {
    if (run.finished) return;
    let valueJson: string | undefined;
    let stateJson: string;
    try {
      valueJson = serialize(value, "The returned value");
      const state = g.state;
      stateJson = serialize(state === undefined ? {} : state, "state") ?? "{}";
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
          `The result is larger than ${round(run.maxOutputBytes / 1024)} KB. Filter, aggregate or slice the data in code and return only what is needed.`,
          "RangeError",
        ),
      );
      return;
    }
    const truncated = run.logsTruncated;
    end(run);
    host.send(
      `{"t":"done","run":${stringify(run.id)}${valueJson === undefined ? "" : `,"value":${valueJson}`},"state":${stateJson}${truncated ? ',"logsTruncated":true' : ""}}`,
    );
  }

  function start(frame: Record<string, unknown>): void {
    if (current && !current.finished) {
      send({
        t: "error",
        run: StringCtor(frame.id),
        error: { code: "BRIDGE_PROTOCOL_ERROR", message: "A program is already running." },
      });
      return;
    }
    const limits = (frame.limits && typeof frame.limits === "object" ? frame.limits : {}) as Record<
      string,
      unknown
    >;
    const run: Run = {
      id: StringCtor(frame.id),
      maxOutputBytes:
        typeof limits.maxOutputBytes === "number" ? limits.maxOutputBytes : 4 * 1024 * 1024,
      maxLogBytes: typeof limits.maxLogBytes === "number" ? limits.maxLogBytes : 64 * 1024,
      logBytes: 0,
      logsTruncated: false,
      finished: false,
      pending: objectCreate(null),
    };
    current = run;
    let program: () => Promise<unknown>;
    try {
      installGlobals(run, frame);
      program = new AsyncFunction(StringCtor(frame.code));
    } catch (error) {
      errorFrame(run, error);
      return;
    }
    let result: Promise<unknown>;
    try {
      result = call(program, undefined);
    } catch (error) {
      errorFrame(run, error);
      return;
    }
    then(
      result,
      (value) => finish(run, value),
      (error) => errorFrame(run, error),
    );
  }

  function settle(frame: Record<string, unknown>): void {
    const run = current;
    if (!run || run.finished || typeof frame.id !== "number") return;
    const entry = run.pending[frame.id];
    if (!entry) return;
    deleteOwn(run.pending, frame.id);
    if (frame.ok === true) {
      entry.resolve(frame.value);
    } else {
      const e = (frame.error && typeof frame.error === "object" ? frame.error : {}) as {
        code?: unknown;
        message?: unknown;
      };
      entry.reject(
        new GuestError(
          typeof e.code === "string" ? e.code : "INTERNAL_ERROR",
          typeof e.message === "string" ? e.message : "The host refused the call.",
          "ToolError",
        ),
      );
    }
  }

  send({ t: "ready", protocol: PROTOCOL, engine: host.engine });

  return {
    receive(line: string): void {
      let frame: Record<string, unknown>;
      try {
        frame = parse(line);
      } catch {
        return;
      }
      if (!frame || typeof frame !== "object") return;
      if (frame.t === "run") start(frame);
      else if (frame.t === "result") settle(frame);
    },
    reportUncaught(error: unknown): void {
      const run = current;
      if (run && !run.finished) {
        log(run, "error", [`Uncaught (outside the program's await chain): ${inspect(error, 0)}`]);
      }
    },
    busy(): boolean {
      return current !== undefined && !current.finished;
    },
    clean(): boolean {
      return realmClean && (current === undefined || current.finished);
    },
  };
}
