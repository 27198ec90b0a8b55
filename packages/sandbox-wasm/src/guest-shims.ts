/**
 * Web APIs that QuickJS lacks and model-written code expects: timers, TextEncoder and
 * TextDecoder (UTF-8), atob/btoa, URL and URLSearchParams (the common parts), structuredClone,
 * performance.now, queueMicrotask and a small Intl (en-US number and date formatting only).
 *
 * Shipped as source text (`guestShimsSource()`) and evaluated by the C runner before the
 * prelude, like core's guestMain: no imports, nothing from outside the function body. It
 * returns the timer controller the runner drives; the controller is not reachable from
 * programs.
 */

/** What the runner gives the shims. */
export interface ShimNative {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /**
   * Evaluates the shim part `name` (one of `guestShimParts()`, compiled once per guest) in
   * this realm and calls it with `load`, so that it can load the parts it needs.
   */
  load(name: string, load: (name: string) => unknown): unknown;
}

/** A part loaded by name: it may load other parts. */
type ShimPart = (load: (name: string) => unknown) => unknown;
type DOMExceptionClass = new (message: string, name: string) => Error;

/** What the shims give back to the runner: the timer queue. */
export interface TimerController {
  /** Milliseconds until the next timer is due (0 when one is due), or -1 when none is set. */
  next(): number;
  /** Runs the timers that are due. */
  run(): void;
  /** Drops every timer (a run ended). */
  reset(): void;
  /** Where an error thrown by a timer callback goes (the runner sets it to the prelude's `reportUncaught`). */
  report?: (error: unknown) => void;
}

export function guestShims(native: ShimNative): TimerController {
  // biome-ignore lint/suspicious/noExplicitAny: the guest's global object is untyped by nature.
  const g = globalThis as any;
  const define = (name: string, value: unknown) => {
    if (g[name] === undefined) {
      Object.defineProperty(g, name, { value, writable: true, configurable: true });
    }
  };
  // Every realm gets the shims (a fresh one after a run that did not end clean): what a program
  // may not use is made on first access (a getter that replaces itself by the value).
  const lazy = (name: string, make: () => unknown) => {
    if (g[name] !== undefined) return;
    const settle = (value: unknown) =>
      Object.defineProperty(g, name, { value, writable: true, configurable: true });
    Object.defineProperty(g, name, {
      configurable: true,
      get() {
        const value = make();
        settle(value);
        return value;
      },
      set: settle,
    });
  };
  // A part is evaluated from bytecode only when a program first uses what it defines.
  const loaded = new Map<string, unknown>();
  const load = (name: string): unknown => {
    if (!loaded.has(name)) loaded.set(name, native.load(name, load));
    return loaded.get(name);
  };
  // biome-ignore lint/suspicious/noExplicitAny: parts return what their globals are.
  const part = (name: string) => load(name) as any;
  lazy("TextEncoder", () => part("text").TextEncoder);
  lazy("TextDecoder", () => part("text").TextDecoder);
  lazy("DOMException", () => part("DOMException"));
  lazy("btoa", () => part("base64").btoa);
  lazy("atob", () => part("base64").atob);
  lazy("structuredClone", () => part("structuredClone"));
  lazy("URL", () => part("url").URL);
  lazy("URLSearchParams", () => part("url").URLSearchParams);
  if (g.Intl === undefined) lazy("Intl", () => part("intl"));

  // --- timers -------------------------------------------------------------------------
  interface Timer {
    id: number;
    at: number;
    fn: (...args: unknown[]) => void;
    args: unknown[];
    every: number;
  }
  let timers: Timer[] = [];
  let nextTimerId = 1;
  const addTimer = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number => {
    if (typeof fn !== "function") throw new TypeError("The callback must be a function");
    const delay = Math.max(0, Number(ms) || 0);
    const id = nextTimerId++;
    timers.push({
      id,
      at: native.now() + delay,
      fn: fn as Timer["fn"],
      args,
      every: repeat ? Math.max(1, delay) : -1,
    });
    return id;
  };
  const clearTimer = (id: unknown) => {
    timers = timers.filter((t) => t.id !== id);
  };
  define("setTimeout", (fn: unknown, ms?: unknown, ...args: unknown[]) =>
    addTimer(fn, ms, args, false),
  );
  define("setInterval", (fn: unknown, ms?: unknown, ...args: unknown[]) =>
    addTimer(fn, ms, args, true),
  );
  define("setImmediate", (fn: unknown, ...args: unknown[]) => addTimer(fn, 0, args, false));
  define("clearTimeout", clearTimer);
  define("clearInterval", clearTimer);
  define("clearImmediate", clearTimer);
  define("queueMicrotask", (fn: unknown) => {
    if (typeof fn !== "function") throw new TypeError("The callback must be a function");
    Promise.resolve().then(fn as () => void);
  });
  define("performance", Object.freeze({ now: () => native.now(), timeOrigin: Date.now() }));

  // --- console: errors printed as in Node ---------------------------------------------
  // QuickJS's `stack` has only the frames; the prelude prints an error by its stack, so an
  // error logged here would lose its message. The prelude assigns `console` for every run;
  // this setter wraps what it assigns so that errors carry "Name: message" first.
  const withHeader = (e: Error): string => {
    const head = `${e.name}: ${e.message}`;
    const stack = typeof e.stack === "string" ? e.stack : "";
    return stack.startsWith(head) ? stack : stack ? `${head}\n${stack}` : head;
  };
  let wrappedConsole: unknown;
  Object.defineProperty(g, "console", {
    configurable: true,
    enumerable: false,
    get: () => wrappedConsole,
    set: (value: unknown) => {
      if (typeof value !== "object" || value === null) {
        wrappedConsole = value;
        return;
      }
      const out: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(value)) {
        out[name] =
          typeof fn === "function"
            ? (...args: unknown[]) =>
                fn.apply(
                  value,
                  args.map((a) => (a instanceof Error ? withHeader(a) : a)),
                )
            : fn;
      }
      wrappedConsole = out;
    },
  });

  // --- the runner's timer queue -------------------------------------------------------
  const controller: TimerController = {
    next(): number {
      if (timers.length === 0) return -1;
      let at = Number.POSITIVE_INFINITY;
      for (const t of timers) if (t.at < at) at = t.at;
      return Math.max(0, Math.ceil(at - native.now()));
    },
    run(): void {
      const now = native.now();
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.id - b.id);
      for (const t of due) {
        if (!timers.includes(t)) continue; // cleared by an earlier callback
        if (t.every >= 0) t.at = now + t.every;
        else timers = timers.filter((x) => x !== t);
        try {
          t.fn(...t.args);
        } catch (error) {
          controller.report?.(error instanceof Error ? withHeader(error) : error);
        }
      }
    },
    reset(): void {
      timers = [];
    },
  };
  return controller;
}

// --- parts: each is shipped as source of its own, compiled once per guest and evaluated
// in a realm only when a program first uses it (so that a fresh realm per run stays cheap).

/** TextEncoder and TextDecoder (UTF-8 only). */
function textPart() {
  function encodeUtf8(text: string): Uint8Array {
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else c = 0xfffd;
      } else if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else
        out.push(
          0xf0 | (c >> 18),
          0x80 | ((c >> 12) & 63),
          0x80 | ((c >> 6) & 63),
          0x80 | (c & 63),
        );
    }
    return new Uint8Array(out);
  }

  function decodeUtf8(bytes: Uint8Array, fatal: boolean): string {
    let out = "";
    let chunk: number[] = [];
    const flush = () => {
      out += String.fromCharCode.apply(null, chunk);
      chunk = [];
    };
    const bad = () => {
      if (fatal) throw new TypeError("The encoded data was not valid UTF-8");
      chunk.push(0xfffd);
    };
    let i = 0;
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
    while (i < bytes.length) {
      const b = bytes[i]!;
      let need = 0;
      let c = 0;
      if (b < 0x80) {
        chunk.push(b);
        i++;
        if (chunk.length > 8192) flush();
        continue;
      }
      if (b >= 0xc2 && b < 0xe0) {
        need = 1;
        c = b & 0x1f;
      } else if (b >= 0xe0 && b < 0xf0) {
        need = 2;
        c = b & 0x0f;
      } else if (b >= 0xf0 && b < 0xf5) {
        need = 3;
        c = b & 0x07;
      } else {
        bad();
        i++;
        continue;
      }
      let j = 1;
      for (; j <= need; j++) {
        const n = bytes[i + j];
        if (n === undefined || (n & 0xc0) !== 0x80) break;
        c = (c << 6) | (n & 0x3f);
      }
      if (
        j <= need ||
        (need === 2 && (c < 0x800 || (c >= 0xd800 && c < 0xe000))) ||
        (need === 3 && (c < 0x10000 || c > 0x10ffff))
      ) {
        bad();
        i += Math.max(1, j);
        continue;
      }
      i += need + 1;
      if (c >= 0x10000) {
        c -= 0x10000;
        chunk.push(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      } else chunk.push(c);
      if (chunk.length > 8192) flush();
    }
    flush();
    return out;
  }

  function toBytes(input: unknown): Uint8Array {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof Uint8Array) return input;
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) {
      return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    }
    throw new TypeError("The input must be an ArrayBuffer or a view on one");
  }

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(text = ""): Uint8Array {
      return encodeUtf8(String(text));
    }
    encodeInto(text: string, dest: Uint8Array) {
      const bytes = encodeUtf8(String(text));
      const n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: String(text).length, written: n };
    }
  }

  class TextDecoder {
    readonly encoding = "utf-8";
    readonly fatal: boolean;
    constructor(label = "utf-8", options: { fatal?: boolean } = {}) {
      const l = String(label).toLowerCase().trim();
      if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") {
        throw new RangeError(`Only utf-8 is supported here, not "${label}"`);
      }
      this.fatal = options.fatal === true;
    }
    decode(input?: unknown): string {
      return decodeUtf8(toBytes(input), this.fatal);
    }
  }
  return { TextEncoder, TextDecoder };
}

/** DOMException. */
function domExceptionPart() {
  return class DOMException extends Error {
    constructor(message: string, name: string) {
      super(message);
      this.name = name;
    }
  };
}

/** btoa and atob. */
function base64Part(load: (name: string) => unknown) {
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const btoa = (input: unknown) => {
    const s = String(input);
    let out = "";
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i);
      const b = s.charCodeAt(i + 1);
      const c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) {
        throw new (load("DOMException") as DOMExceptionClass)(
          "The string to be encoded contains characters outside of the Latin1 range.",
          "InvalidCharacterError",
        );
      }
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
      out += i + 1 < s.length ? B64[(n >> 6) & 63]! : "=";
      out += i + 2 < s.length ? B64[n & 63]! : "=";
    }
    return out;
  };
  const atob = (input: unknown) => {
    let s = String(input).replace(/[\t\n\f\r ]+/g, "");
    if (s.length % 4 === 0) s = s.replace(/==?$/, "");
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
      throw new (load("DOMException") as DOMExceptionClass)(
        "The string to be decoded is not correctly encoded.",
        "InvalidCharacterError",
      );
    }
    let out = "";
    let bits = 0;
    let value = 0;
    for (let i = 0; i < s.length; i++) {
      value = (value << 6) | B64.indexOf(s[i]!);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((value >> bits) & 0xff);
      }
    }
    return out;
  };

  // --- structuredClone
  return { btoa, atob };
}

/** structuredClone (the structured-clone algorithm for plain data, Maps, Sets, dates, regexps, buffers and errors). */
function structuredClonePart(load: (name: string) => unknown) {
  return (value: unknown) => {
    const seen = new Map<unknown, unknown>();
    const clone = (v: unknown): unknown => {
      if (typeof v === "function" || typeof v === "symbol") {
        throw new (load("DOMException") as DOMExceptionClass)(
          `${String(v)} could not be cloned.`,
          "DataCloneError",
        );
      }
      if (typeof v !== "object" || v === null) return v;
      if (seen.has(v)) return seen.get(v);
      if (v instanceof Date) return new Date(v.getTime());
      if (v instanceof RegExp) return new RegExp(v.source, v.flags);
      if (v instanceof ArrayBuffer) return v.slice(0);
      if (ArrayBuffer.isView(v)) {
        const Ctor = (v as unknown as { constructor: new (b: ArrayBuffer) => unknown }).constructor;
        const copy = (v.buffer as ArrayBuffer).slice(v.byteOffset, v.byteOffset + v.byteLength);
        return v instanceof DataView ? new DataView(copy) : new Ctor(copy);
      }
      if (v instanceof Map) {
        const m = new Map();
        seen.set(v, m);
        for (const [k, x] of v) m.set(clone(k), clone(x));
        return m;
      }
      if (v instanceof Set) {
        const s = new Set();
        seen.set(v, s);
        for (const x of v) s.add(clone(x));
        return s;
      }
      if (v instanceof Error) {
        const e = new (v.constructor as ErrorConstructor)(v.message);
        seen.set(v, e);
        if (v.stack) e.stack = v.stack;
        return e;
      }
      const proto = Object.getPrototypeOf(v);
      if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
        // Class instances lose their prototype, as in browsers and Node.
      }
      const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
      seen.set(v, out);
      for (const key of Object.keys(v)) {
        (out as Record<string, unknown>)[key] = clone((v as Record<string, unknown>)[key]);
      }
      return out;
    };
    return clone(value);
  };
}

/** URL and URLSearchParams (common absolute and relative URLs; no IDNA). */
function urlPart() {
  const DEFAULT_PORTS: Record<string, string> = {
    "http:": "80",
    "https:": "443",
    "ws:": "80",
    "wss:": "443",
    "ftp:": "21",
  };
  const encodeForm = (s: string) =>
    encodeURIComponent(s)
      .replace(/%20/g, "+")
      .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const decodeForm = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };

  class URLSearchParams {
    private list: [string, string][] = [];
    private onChange: (() => void) | undefined;
    constructor(init?: unknown) {
      if (init === undefined || init === null) return;
      if (typeof init === "string") this.parse(init);
      else if (init instanceof URLSearchParams) this.list = init.list.map(([k, v]) => [k, v]);
      else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
        for (const pair of init as Iterable<[unknown, unknown]>) {
          this.list.push([String(pair[0]), String(pair[1])]);
        }
      } else if (typeof init === "object") {
        for (const key of Object.keys(init)) {
          this.list.push([key, String((init as Record<string, unknown>)[key])]);
        }
      }
    }
    /** @internal */
    parse(text: string): void {
      this.list = [];
      const s = text.startsWith("?") ? text.slice(1) : text;
      for (const part of s.split("&")) {
        if (part === "") continue;
        const eq = part.indexOf("=");
        this.list.push(
          eq === -1
            ? [decodeForm(part), ""]
            : [decodeForm(part.slice(0, eq)), decodeForm(part.slice(eq + 1))],
        );
      }
    }
    /** @internal */
    bind(onChange: () => void): void {
      this.onChange = onChange;
    }
    private changed(): void {
      this.onChange?.();
    }
    get size(): number {
      return this.list.length;
    }
    append(name: string, value: string): void {
      this.list.push([String(name), String(value)]);
      this.changed();
    }
    delete(name: string): void {
      this.list = this.list.filter(([k]) => k !== String(name));
      this.changed();
    }
    get(name: string): string | null {
      const hit = this.list.find(([k]) => k === String(name));
      return hit ? hit[1] : null;
    }
    getAll(name: string): string[] {
      return this.list.filter(([k]) => k === String(name)).map(([, v]) => v);
    }
    has(name: string): boolean {
      return this.list.some(([k]) => k === String(name));
    }
    set(name: string, value: string): void {
      const n = String(name);
      const i = this.list.findIndex(([k]) => k === n);
      if (i === -1) this.list.push([n, String(value)]);
      else {
        this.list[i] = [n, String(value)];
        this.list = this.list.filter(([k], j) => k !== n || j <= i);
      }
      this.changed();
    }
    sort(): void {
      this.list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.changed();
    }
    forEach(fn: (value: string, key: string, self: URLSearchParams) => void): void {
      for (const [k, v] of this.list) fn(v, k, this);
    }
    keys() {
      return this.list.map(([k]) => k)[Symbol.iterator]();
    }
    values() {
      return this.list.map(([, v]) => v)[Symbol.iterator]();
    }
    entries() {
      return this.list.map(([k, v]) => [k, v] as [string, string])[Symbol.iterator]();
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString(): string {
      return this.list.map(([k, v]) => `${encodeForm(k)}=${encodeForm(v)}`).join("&");
    }
  }

  const URL_RE =
    /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;

  function normalizePath(path: string): string {
    const out: string[] = [];
    const parts = path.split("/");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p === "..") {
        if (out.length > 1) out.pop();
        if (i === parts.length - 1) out.push("");
      } else if (p === ".") {
        if (i === parts.length - 1) out.push("");
      } else out.push(p);
    }
    const joined = out.join("/");
    return joined.startsWith("/") ? joined : `/${joined}`;
  }

  class URL {
    protocol = "";
    username = "";
    password = "";
    hostname = "";
    port = "";
    pathname = "";
    hash = "";
    private query = "";
    readonly searchParams: URLSearchParams;

    constructor(input: unknown, base?: unknown) {
      let text = String(input).trim();
      let m = URL_RE.exec(text);
      if (!m && base !== undefined) {
        const b = new URL(base);
        if (text.startsWith("//")) text = `${b.protocol}${text}`;
        else if (text.startsWith("/")) text = `${b.origin}${text}`;
        else if (text.startsWith("?")) text = `${b.origin}${b.pathname}${text}`;
        else if (text.startsWith("#")) text = `${b.origin}${b.pathname}${b.search}${text}`;
        else text = `${b.origin}${b.pathname.replace(/[^/]*$/, "")}${text}`;
        m = URL_RE.exec(text);
      }
      if (!m) throw new TypeError(`Invalid URL: ${String(input)}`);
      this.protocol = m[1]!.toLowerCase();
      const special = this.protocol in DEFAULT_PORTS || this.protocol === "file:";
      if (special && m[4] === undefined) throw new TypeError(`Invalid URL: ${String(input)}`);
      this.username = m[2] ?? "";
      this.password = m[3] ?? "";
      this.hostname = (m[4] ?? "").toLowerCase();
      if (special && this.protocol !== "file:" && this.hostname === "") {
        throw new TypeError(`Invalid URL: ${String(input)}`);
      }
      const port = m[5] ?? "";
      this.port = DEFAULT_PORTS[this.protocol] === port ? "" : port;
      const rawPath = (m[6] ?? "").replace(/ /g, "%20");
      this.pathname = special ? normalizePath(rawPath || "/") : rawPath;
      this.query = m[7] && m[7] !== "?" ? m[7] : "";
      this.hash = m[8] && m[8] !== "#" ? m[8] : "";
      this.searchParams = new URLSearchParams(this.query);
      this.searchParams.bind(() => {
        const q = this.searchParams.toString();
        this.query = q ? `?${q}` : "";
      });
    }
    get host(): string {
      return this.port ? `${this.hostname}:${this.port}` : this.hostname;
    }
    get origin(): string {
      return this.protocol in DEFAULT_PORTS ? `${this.protocol}//${this.host}` : "null";
    }
    get search(): string {
      return this.query;
    }
    set search(value: string) {
      const v = String(value);
      this.query = v === "" || v === "?" ? "" : v.startsWith("?") ? v : `?${v}`;
      this.searchParams.parse(this.query);
    }
    get href(): string {
      const auth = this.username
        ? `${this.username}${this.password ? `:${this.password}` : ""}@`
        : "";
      const slashes = this.host || this.protocol === "file:" ? "//" : "";
      return `${this.protocol}${slashes}${auth}${this.host}${this.pathname}${this.query}${this.hash}`;
    }
    toString(): string {
      return this.href;
    }
    toJSON(): string {
      return this.href;
    }
    static canParse(input: unknown, base?: unknown): boolean {
      try {
        new URL(input, base);
        return true;
      } catch {
        return false;
      }
    }
  }
  return { URL, URLSearchParams };
}

/** A minimal en-US Intl: NumberFormat and DateTimeFormat. */
function intlPart() {
  const group = (digits: string) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  class NumberFormat {
    private readonly min: number;
    private readonly max: number;
    private readonly grouping: boolean;
    private readonly style: string;
    private readonly currency: string;
    constructor(_locale?: unknown, options: Record<string, unknown> = {}) {
      this.style = String(options.style ?? "decimal");
      this.currency = String(options.currency ?? "USD");
      const defMax = this.style === "currency" ? 2 : this.style === "percent" ? 0 : 3;
      const defMin = this.style === "currency" ? 2 : 0;
      this.min = Number(options.minimumFractionDigits ?? defMin);
      this.max = Math.max(this.min, Number(options.maximumFractionDigits ?? defMax));
      this.grouping = options.useGrouping !== false;
    }
    format(value: unknown): string {
      let n = Number(value);
      if (Number.isNaN(n)) return "NaN";
      if (!Number.isFinite(n)) return n < 0 ? "-∞" : "∞";
      if (this.style === "percent") n *= 100;
      const negative = n < 0;
      let text = Math.abs(n).toFixed(this.max);
      if (this.max > this.min) {
        text = text.replace(/0+$/, "");
        const [i, f = ""] = text.split(".");
        text = f.length < this.min ? `${i}.${f.padEnd(this.min, "0")}` : f ? `${i}.${f}` : i!;
        if (this.min === 0) text = text.replace(/\.$/, "");
      }
      const [int, frac] = text.split(".");
      let out = (this.grouping ? group(int!) : int!) + (frac ? `.${frac}` : "");
      if (this.style === "percent") out += "%";
      if (this.style === "currency")
        out = `${this.currency === "USD" ? "$" : `${this.currency} `}${out}`;
      return negative ? `-${out}` : out;
    }
    resolvedOptions() {
      return {
        locale: "en-US",
        numberingSystem: "latn",
        style: this.style,
        minimumFractionDigits: this.min,
        maximumFractionDigits: this.max,
        useGrouping: this.grouping,
      };
    }
  }
  class DateTimeFormat {
    constructor(
      _locale?: unknown,
      private readonly options: Record<string, unknown> = {},
    ) {}
    format(value: unknown): string {
      const d = value === undefined ? new Date() : new Date(value as string);
      const utc = this.options.timeZone === undefined || this.options.timeZone === "UTC";
      const y = utc ? d.getUTCFullYear() : d.getFullYear();
      const m = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
      const day = utc ? d.getUTCDate() : d.getDate();
      return `${m}/${day}/${y}`;
    }
    resolvedOptions() {
      return { locale: "en-US", calendar: "gregory", numberingSystem: "latn", timeZone: "UTC" };
    }
  }
  return Object.freeze({
    NumberFormat,
    DateTimeFormat,
    getCanonicalLocales: () => ["en-US"],
  });
}

const PARTS: Record<string, ShimPart> = {
  text: textPart,
  DOMException: domExceptionPart,
  base64: base64Part as ShimPart,
  structuredClone: structuredClonePart as ShimPart,
  url: urlPart,
  intl: intlPart,
};

/** The shim parts as source text, by name: each an expression that evaluates to the part. */
export function guestShimPartsSource(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(PARTS).map(([name, fn]) => [name, `(${fn.toString()})`]),
  );
}

/** The shims as source text: an expression that evaluates to `guestShims`. */
export function guestShimsSource(): string {
  return `(${guestShims.toString()})`;
}
