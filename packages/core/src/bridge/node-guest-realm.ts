import type { GuestEndpoint, GuestHost } from "./guest-main.js";

/**
 * What the Node runner reaches inside a program's realm. Only primitives cross: the runner
 * passes strings and numbers in and gets strings, numbers and booleans back, so no object of
 * the runner's own realm (and through it `process`) is ever handed to a program.
 */
export interface NodeRealmApi {
  /** Hands one host frame line to the prelude. */
  receive(line: string): void;
  /** Runs a due timer callback. */
  fire(id: number): void;
  /** The frames written since the last call, each followed by a newline ("" when none). */
  takeOutput(): string;
  /** Timer requests since the last call: "id,delay,repeat;..." (delay -1 clears the timer). */
  takeTimerOps(): string;
  /** Drops every timer callback (a run ended). */
  dropTimers(): void;
  reportUncaught(error: unknown): void;
  busy(): boolean;
  clean(): boolean;
}

/**
 * Sets up a fresh realm for programs: the timers (driven by the runner through
 * `takeTimerOps()` and `fire()`), the outbox the prelude writes to, and the prelude itself.
 * Evaluated inside the realm as source text (`nodeGuestRealm.toString()`): self-contained.
 * Without Node's APIs (`nodeApis` false), the realm also loses the built-ins whose callbacks
 * could run after a run ended, when no deadline watches the guest; every callback into it then
 * comes from the runner, which flushes after each. With them, program code also runs from
 * Node's own callbacks, so each frame `notify()`s the runner.
 */
export function nodeGuestRealm(
  prelude: (host: GuestHost) => GuestEndpoint,
  engine: string,
  nodeApis: boolean,
  /** With Node's APIs only: tells the runner a frame is waiting (their callbacks run outside its view). */
  notify?: () => void,
): NodeRealmApi {
  // biome-ignore lint/suspicious/noExplicitAny: the guest's global object is untyped by nature.
  const g = globalThis as any;
  const apply = Reflect.apply;
  const defineOwn = Reflect.defineProperty;
  const objectCreate = Object.create;
  const PromiseCtor = Promise;
  const promiseThen = Promise.prototype.then;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const toNumber = Number;
  const isNaNumber = Number.isNaN;
  const max = Math.max;
  if (!nodeApis) {
    delete g.WebAssembly;
    delete g.FinalizationRegistry;
    if (g.Atomics) delete g.Atomics.waitAsync;
  }

  const MAX_TIMERS = 10_000;
  interface Timer {
    fn: (...args: unknown[]) => unknown;
    args: unknown[];
    repeat: boolean;
  }
  let timers = objectCreate(null) as Record<number, Timer | undefined>;
  let live = 0;
  let nextTimer = 1;
  let ops = "";
  const outbox: string[] = [];

  function addTimer(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
    if (typeof fn !== "function") throw new TypeErrorCtor("The callback must be a function");
    if (live >= MAX_TIMERS) {
      throw new RangeErrorCtor(`More than ${MAX_TIMERS} timers are pending; clear some first.`);
    }
    const id = nextTimer++;
    timers[id] = { fn: fn as Timer["fn"], args, repeat };
    live++;
    const delay = toNumber(ms);
    const wait = isNaNumber(delay) ? 0 : max(delay, 0); // NaN and negatives wait 0, as in Node
    ops += `${id},${wait},${repeat ? 1 : 0};`;
    return id;
  }
  function clearTimer(id: unknown): void {
    if (typeof id !== "number" || !timers[id]) return;
    timers[id] = undefined;
    live--;
    ops += `${id},-1,0;`;
  }
  const define = (name: string, value: unknown) =>
    defineOwn(g, name, { value, writable: true, enumerable: false, configurable: true });
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
    if (typeof fn !== "function") throw new TypeErrorCtor("The callback must be a function");
    apply(promiseThen, PromiseCtor.resolve(), [
      () => apply(fn as () => unknown, undefined, []),
      (error: unknown) => endpoint.reportUncaught(error),
    ]);
  });

  const endpoint = prelude({
    engine,
    send(line: string) {
      outbox[outbox.length] = line;
      if (notify) notify();
    },
  });

  return {
    receive(line: string) {
      endpoint.receive(line);
    },
    fire(id: number) {
      const timer = timers[id];
      if (!timer) return;
      if (!timer.repeat) {
        timers[id] = undefined;
        live--;
      }
      try {
        apply(timer.fn, undefined, timer.args);
      } catch (error) {
        endpoint.reportUncaught(error);
      }
    },
    takeOutput() {
      let text = "";
      for (let i = 0; i < outbox.length; i++) text += `${outbox[i]}\n`;
      outbox.length = 0;
      return text;
    },
    takeTimerOps() {
      const taken = ops;
      ops = "";
      return taken;
    },
    dropTimers() {
      timers = objectCreate(null);
      live = 0;
      ops = "";
    },
    reportUncaught(error: unknown) {
      endpoint.reportUncaught(error);
    },
    busy() {
      return endpoint.busy();
    },
    clean() {
      return endpoint.clean();
    },
  };
}
