import type { NodeRealmApi } from "./node-guest-realm.js";

/** How a Node runner treats programs. */
export interface NodeGuestRunnerOptions {
  /**
   * Give programs Node's globals (`process`, `require`, `Buffer`, ...). Programs can then reach
   * the runner itself, so a sandbox that sets this must not reuse the runner after a run.
   */
  nodeApis: boolean;
}

/**
 * The runner around the prelude in a Node process (process sandbox, containers): frames in
 * on stdin, frames out on stdout. Shipped as source text with the prelude, so it must be
 * self-contained.
 *
 * Programs run in a realm of their own (a `vm` context) that holds nothing of the runner's:
 * no `process`, no pipe, no module loader; the runner and the realm exchange only strings
 * and numbers. Frames leave in one write after the realm's microtasks have drained, the
 * first of a run headed by `started` (the runner took this job), and a run ends only when the
 * prelude says so: a program that keeps its realm busy after returning never gets its result
 * out and runs into the host's deadline. Nothing in the realm can run after that: its timers
 * are the runner's and are cleared, and the built-ins with callbacks of their own are gone. A realm the prelude reports unclean
 * (its globals could not be put back) is replaced before the next run.
 */
export function nodeGuestRunner(
  preludeSource: string,
  realmSource: string,
  options: NodeGuestRunnerOptions,
): void {
  // biome-ignore lint/suspicious/noExplicitAny: process and the vm module are reached untyped on purpose.
  const g = globalThis as any;
  const proc = g.process;
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  const vm: any = proc.getBuiltinModule("node:vm");
  const stdout = proc.stdout;
  const engine = `node ${proc.version}`;
  const requireFn = g.require;
  // No signalling primitive: Node's only ways to signal another process are these two.
  for (const name of ["kill", "_kill"]) {
    try {
      delete proc[name];
    } catch {}
  }
  for (const name of ["require", "module", "exports", "__filename", "__dirname"]) {
    try {
      delete g[name];
    } catch {}
  }

  // import() in a realm without a loader rejects with an error of the runner's realm (a way
  // out); this one rejects with an error of the program's own realm.
  let realmError: ((message: string) => unknown) | undefined;
  const importModuleDynamically = options.nodeApis
    ? vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
    : () => {
        throw realmError?.("import() is not available in the sandbox: use the tools it offers.");
      };

  let api!: NodeRealmApi;
  /** The run the realm is executing, by id. */
  let active: string | undefined;
  const timers = new Map<number, NodeJS.Timeout>();
  let flushQueued = false;
  let startedLine = "";

  /** The realm's global object. */
  // biome-ignore lint/suspicious/noExplicitAny: the realm's global is untyped by nature.
  let realmGlobal: any;

  /**
   * Node's globals for one run, added after the prelude froze the realm's built-ins so that
   * Node's own objects stay as they are; each run's end removes them with the run's other
   * globals. Only with `nodeApis`, where a runner serves one execution.
   */
  function installNodeApis(): void {
    for (const key of Object.getOwnPropertyNames(g)) {
      const timer = /^(set|clear)(Timeout|Interval|Immediate)$|^queueMicrotask$/.test(key);
      if (key in realmGlobal || timer) continue;
      Object.defineProperty(realmGlobal, key, Object.getOwnPropertyDescriptor(g, key)!);
    }
    realmGlobal.require = requireFn;
  }

  function newRealm(): void {
    const context = vm.createContext(vm.constants.DONT_CONTEXTIFY);
    const evaluate = (source: string, filename: string) =>
      new vm.Script(`(${source})`, { filename, importModuleDynamically }).runInContext(context);
    realmError = evaluate("(message) => new TypeError(message)", "sandbox-realm-errors.js");
    const setup = evaluate(realmSource, "sandbox-realm.js");
    const prelude = evaluate(preludeSource, "sandbox-prelude.js");
    // Only a realm that holds Node's APIs anyway may be handed a function of the runner's.
    const notify = options.nodeApis ? scheduleFlush : undefined;
    const made = setup(prelude, engine, options.nodeApis, notify) as NodeRealmApi;
    realmGlobal = context;
    // Taken once, now, before any program could replace them.
    api = {
      receive: made.receive,
      fire: made.fire,
      takeOutput: made.takeOutput,
      takeTimerOps: made.takeTimerOps,
      dropTimers: made.dropTimers,
      reportUncaught: made.reportUncaught,
      busy: made.busy,
      clean: made.clean,
    };
  }

  function write(text: string): void {
    if (text.length > 0) stdout.write(text);
  }

  function scheduleFlush(): void {
    if (flushQueued) return;
    flushQueued = true;
    // After the realm's microtasks: a program spinning on promises never lets this run.
    setImmediate(flush);
  }

  function flush(): void {
    flushQueued = false;
    const run = active;
    const output = String(api.takeOutput());
    applyTimerOps(String(api.takeTimerOps()));
    if (run === undefined) return; // nothing may leave between runs
    write(startedLine + output);
    startedLine = "";
    if (api.busy() !== true) endRun();
  }

  function endRun(): void {
    active = undefined;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    api.dropTimers();
    if (api.clean() !== true) {
      newRealm();
      api.takeOutput(); // the fresh prelude's ready frame: the host has had one
    }
  }

  function applyTimerOps(ops: string): void {
    if (ops.length === 0) return;
    for (const op of ops.split(";")) {
      if (op.length === 0) continue;
      const [id, delay, repeat] = op.split(",").map(Number) as [number, number, number];
      if (delay < 0) {
        const timer = timers.get(id);
        if (timer) clearTimeout(timer);
        timers.delete(id);
        continue;
      }
      if (active === undefined) continue;
      const ms = Math.min(Math.max(1, delay || 0), 2_147_483_647);
      const fire = () => {
        if (!repeat) timers.delete(id);
        guarded(() => api.fire(id));
        scheduleFlush();
      };
      timers.set(id, repeat ? setInterval(fire, ms) : setTimeout(fire, ms));
    }
  }

  /** Calls into the realm; an exception there belongs to the program, never to the runner. */
  function guarded(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      try {
        api.reportUncaught(error);
      } catch {}
    }
  }

  const RUN_PREFIX = '{"t":"run","id":';
  function onLine(line: string): void {
    if (line.startsWith(RUN_PREFIX)) {
      // The id is the frame's second field (the host writes it so): no need to parse the
      // code and state twice.
      let id: unknown;
      const end = line.indexOf('","', RUN_PREFIX.length + 1);
      try {
        id = JSON.parse(end === -1 ? "null" : line.slice(RUN_PREFIX.length, end + 1));
      } catch {}
      if (typeof id !== "string") return;
      if (active !== undefined) {
        // The host sends a run only after the last one ended: this runner is out of step.
        proc.exit(3);
      }
      active = id;
      const started = `{"t":"started","run":${JSON.stringify(id)}}\n`;
      if (options.nodeApis) {
        // The program can write to stdout itself: the acknowledgement goes first, on a line of
        // its own, so nothing the program writes can precede it or share its line.
        write(started);
        installNodeApis();
      } else {
        // The acknowledgement leaves with the run's first frames, in one write.
        startedLine = started;
      }
      guarded(() => api.receive(line));
      scheduleFlush();
      return;
    }
    if (active === undefined) return; // a late answer for a run that is over
    guarded(() => api.receive(line));
    scheduleFlush();
  }

  newRealm();
  const ready = String(api.takeOutput());
  // One run of a trivial program before the runner says it is ready, so that the first real
  // execution does not pay for compiling the prelude's paths. Its frames are dropped.
  guarded(() =>
    api.receive('{"t":"run","id":"warm-up","code":"return 1","state":{},"servers":[],"limits":{}}'),
  );
  setImmediate(() => {
    api.takeOutput();
    api.takeTimerOps();
    if (api.busy() === true || api.clean() !== true) newRealm();
    api.takeOutput();
    write(ready);
  });
  proc.on("unhandledRejection", (reason: unknown) => {
    guarded(() => api.reportUncaught(reason));
    scheduleFlush();
  });

  let buffer = "";
  let scanFrom = 0;
  proc.stdin.setEncoding("utf8");
  proc.stdin.on("data", (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const nl = buffer.indexOf("\n", scanFrom);
      if (nl === -1) {
        scanFrom = buffer.length;
        return;
      }
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      scanFrom = 0;
      if (line.length > 0) onLine(line);
    }
  });
  proc.stdin.on("end", () => proc.exit(0));
}
