/**
 * A guest thread: a Node worker thread that runs QuickJS guests (instances of the engine
 * module) one after another, each in its own WebAssembly instance with its own linear memory.
 * The instance sees only the WASI functions below: stdin (frames from the host), stdout
 * (frames to the host), stderr (diagnostics), two clocks and poll(). No file, no environment,
 * no argument, no socket exists for it.
 *
 * The guest blocks this thread while it lives (it waits for input inside poll/read): input
 * arrives on a MessagePort that is read synchronously (receiveMessageOnPort), and the host
 * bumps a shared counter and wakes the thread with Atomics.notify. The host stops a guest
 * that does not stop by itself by terminating this thread (V8 interrupts wasm code at loop
 * back-edges and function entries, and Atomics.wait).
 *
 * Run directly by Node (also as TypeScript, by type stripping, in this package's tests), so it
 * imports nothing of this package and uses no syntax that needs a TypeScript transform.
 */
import { readlinkSync } from "node:fs";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import type { WorkerInbound, WorkerOutbound } from "./guest-messages.js";

interface GuestWorkerData {
  /** The compiled engine module (compiled once per host, shared by every thread). */
  module: WebAssembly.Module;
  /** Host -> guest: start requests, stdin data, end of input. */
  input: import("node:worker_threads").MessagePort;
  /** Bumped by the host after each message on `input`; the guest waits on it. */
  signal: Int32Array;
}

/** stderr kept per guest: diagnostics only, never a channel. */
const MAX_STDERR_BYTES = 64 * 1024;
/**
 * Deepest nesting of arrays and objects a frame may have. The host's JSON functions recurse;
 * the runner refuses deeper values itself, so only a misbehaving guest writes one.
 */
const MAX_FRAME_DEPTH = 1000;
/** Output handed to the host and not yet taken; beyond it the guest waits, as on a full pipe. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
/** Output is handed on in pieces of at most this size. */
const OUT_CHUNK_BYTES = 1024 * 1024;

// Slots of the shared counters (guest-thread.ts has the same): input posted, output taken.
const POSTED = 0;
const TAKEN = 1;
/** Never notified: poll() with only a clock waits on it. */
const SLEEP = 2;

// WASI errno values (wasi_snapshot_preview1).
const OK = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;
const ESPIPE = 70;

const CLOCK_REALTIME = 0;
const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const EVENTTYPE_CLOCK = 0;
const EVENTTYPE_FD_READ = 1;
const EVENTTYPE_FD_WRITE = 2;
const SUBCLOCKFLAG_ABSTIME = 1;
const EVENTRWFLAG_HANGUP = 1;
const FILETYPE_CHARACTER_DEVICE = 2;

const { module, input, signal } = workerData as GuestWorkerData;

/** The guest called proc_exit: unwinds the wasm stack back to run(). */
class ProcExit {
  readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}

/** The guest wrote what no runner writes: it is stopped (unwinds like ProcExit). */
class Violation {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/**
 * Follows the nesting depth of the JSON lines in a byte stream (strings skipped), and throws
 * a Violation as soon as a line goes deeper than MAX_FRAME_DEPTH.
 */
function depthTracker(): (bytes: Uint8Array, from: number, to: number) => void {
  let depth = 0;
  let inString = false;
  let escaped = false;
  return (bytes, from, to) => {
    for (let i = from; i < to; i++) {
      const b = bytes[i]!;
      if (b === 0x0a) {
        depth = 0;
        inString = false;
        escaped = false;
      } else if (inString) {
        if (escaped) escaped = false;
        else if (b === 0x5c) escaped = true;
        else if (b === 0x22) inString = false;
      } else if (b === 0x22) inString = true;
      else if (b === 0x5b || b === 0x7b) {
        if (++depth > MAX_FRAME_DEPTH) {
          throw new Violation(`a frame nested deeper than ${MAX_FRAME_DEPTH} levels`);
        }
      } else if (b === 0x5d || b === 0x7d) depth--;
    }
  };
}

function post(message: WorkerOutbound, transfer?: ArrayBuffer[]): void {
  parentPort!.postMessage(message, transfer ?? []);
}

/** Runs one guest to its end; reports its output and its exit. */
function run(instanceId: number, boot: string): void {
  /** What the host sent and the guest has not read yet: text, or UTF-8 bytes for long frames. */
  const inbox: (string | Uint8Array)[] = [];
  /** Characters or bytes in the inbox: what poll() reports as available. */
  let inboxSize = 0;
  let ended = false;
  let stderrBytes = 0;
  let memory: WebAssembly.Memory | undefined;
  const encoder = new TextEncoder();
  const stderrDecoder = new TextDecoder();

  const take = (message: unknown): void => {
    if (message === null) ended = true;
    else if ((typeof message === "string" || message instanceof Uint8Array) && message.length > 0) {
      inbox.push(message);
      inboxSize += message.length;
    }
  };
  /** Moves what the host sent into the inbox; waits up to `waitMs` (-1: no limit) for it. */
  const pull = (waitMs: number): void => {
    const until = waitMs < 0 ? Infinity : performance.now() + waitMs;
    for (;;) {
      const seen = Atomics.load(signal, POSTED);
      let got = false;
      for (let m = receiveMessageOnPort(input); m; m = receiveMessageOnPort(input)) {
        take(m.message);
        got = true;
      }
      if (got || inboxSize > 0 || ended) return;
      const left = until - performance.now();
      if (left <= 0) return;
      Atomics.wait(signal, POSTED, seen, left === Infinity ? undefined : Math.ceil(left));
    }
  };

  // Views on the guest's memory, made again only when it grew (growing replaces the buffer).
  let buffer: ArrayBuffer | undefined;
  let dataView: DataView;
  let byteView: Uint8Array;
  const view = (): DataView => {
    if (memory!.buffer !== buffer) {
      buffer = memory!.buffer;
      dataView = new DataView(buffer);
      byteView = new Uint8Array(buffer);
    }
    return dataView;
  };
  const bytes = (): Uint8Array => {
    view();
    return byteView;
  };

  /** Encodes inbox text straight into the guest's iovecs; returns the byte count. */
  const readInto = (iovs: number, count: number): number => {
    const v = view();
    const mem = bytes();
    let total = 0;
    for (let i = 0; i < count && inbox.length > 0; i++) {
      let at = v.getUint32(iovs + i * 8, true);
      const end = at + v.getUint32(iovs + i * 8 + 4, true);
      while (at < end && inbox.length > 0) {
        const next = inbox[0]!;
        let read: number;
        let written: number;
        if (typeof next === "string") {
          ({ read, written } = encoder.encodeInto(next, mem.subarray(at, end)));
          if (written === 0) break; // the next character does not fit in what is left
        } else {
          read = written = Math.min(next.length, end - at);
          mem.set(next.subarray(0, read), at);
        }
        at += written;
        total += written;
        inboxSize -= read;
        if (read === next.length) inbox.shift();
        else inbox[0] = typeof next === "string" ? next.slice(read) : next.subarray(read);
      }
    }
    return total;
  };

  const checkDepth = depthTracker();
  /** Bytes handed to the host (a wrapping count, compared with the host's TAKEN count). */
  let posted = 0;
  /** Hands bytes of the guest's memory to the host, waiting while too much is in flight. */
  const sendOut = (ptr: number, len: number): void => {
    for (let off = 0; off < len; off += OUT_CHUNK_BYTES) {
      const n = Math.min(OUT_CHUNK_BYTES, len - off);
      for (;;) {
        const taken = Atomics.load(signal, TAKEN);
        if (posted === taken || ((posted - taken) | 0) + n <= MAX_IN_FLIGHT_BYTES) break;
        Atomics.wait(signal, TAKEN, taken, 1000);
      }
      const data = bytes().slice(ptr + off, ptr + off + n);
      posted = (posted + n) | 0;
      post({ op: "out", id: instanceId, data }, [data.buffer as ArrayBuffer]);
    }
  };
  /** The guest's stdout: depth-checked, then handed on. */
  const writeOut = (iovs: number, count: number): number => {
    const v = view();
    let total = 0;
    for (let i = 0; i < count; i++) {
      const ptr = v.getUint32(iovs + i * 8, true);
      const len = v.getUint32(iovs + i * 8 + 4, true);
      checkDepth(bytes(), ptr, ptr + len);
      sendOut(ptr, len);
      total += len;
    }
    return total;
  };
  /** The guest's stderr: diagnostics, capped. */
  const writeErr = (iovs: number, count: number): number => {
    const v = view();
    let total = 0;
    for (let i = 0; i < count; i++) {
      const ptr = v.getUint32(iovs + i * 8, true);
      const len = v.getUint32(iovs + i * 8 + 4, true);
      total += len;
      if (stderrBytes >= MAX_STDERR_BYTES) continue;
      const n = Math.min(len, MAX_STDERR_BYTES - stderrBytes);
      stderrBytes += n;
      const text = stderrDecoder.decode(bytes().subarray(ptr, ptr + n), { stream: true });
      post({ op: "err", id: instanceId, data: text });
    }
    return total;
  };

  const nowNs = (clock: number): bigint =>
    clock === CLOCK_REALTIME
      ? BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
      : process.hrtime.bigint();

  const wasi: Record<string, (...args: never[]) => number> = {
    args_sizes_get(argc: number, size: number) {
      view().setUint32(argc, 0, true);
      view().setUint32(size, 0, true);
      return OK;
    },
    args_get: () => OK,
    environ_sizes_get(count: number, size: number) {
      view().setUint32(count, 0, true);
      view().setUint32(size, 0, true);
      return OK;
    },
    environ_get: () => OK,
    clock_res_get(_clock: number, out: number) {
      view().setBigUint64(out, 1000n, true);
      return OK;
    },
    clock_time_get(clock: number, _precision: bigint, out: number) {
      view().setBigUint64(out, nowNs(clock), true);
      return OK;
    },
    fd_fdstat_get(fd: number, out: number) {
      if (fd > 2) return EBADF;
      const v = view();
      v.setUint8(out, FILETYPE_CHARACTER_DEVICE);
      v.setUint16(out + 2, 0, true);
      v.setBigUint64(out + 8, 0xffffffffn, true);
      v.setBigUint64(out + 16, 0n, true);
      return OK;
    },
    fd_prestat_get: () => EBADF,
    fd_close: (fd: number) => (fd <= 2 ? OK : EBADF),
    fd_seek: (fd: number) => (fd <= 2 ? ESPIPE : EBADF),
    fd_read(fd: number, iovs: number, count: number, nread: number) {
      if (fd !== 0) return EBADF;
      pull(-1);
      const n = readInto(iovs, count);
      view().setUint32(nread, n, true);
      return OK;
    },
    fd_write(fd: number, iovs: number, count: number, nwritten: number) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const n = fd === 1 ? writeOut(iovs, count) : writeErr(iovs, count);
      view().setUint32(nwritten, n, true);
      return OK;
    },
    poll_oneoff(subs: number, events: number, count: number, nevents: number) {
      if (count === 0) return EINVAL;
      const v = view();
      let timeoutMs = -1;
      let clockSub = -1;
      let readSub = -1;
      let writeSub = -1;
      for (let i = 0; i < count; i++) {
        const at = subs + i * SUBSCRIPTION_BYTES;
        const tag = v.getUint8(at + 8);
        if (tag === EVENTTYPE_CLOCK) {
          const clock = v.getUint32(at + 16, true);
          const ns = v.getBigUint64(at + 24, true);
          const absolute = (v.getUint16(at + 40, true) & SUBCLOCKFLAG_ABSTIME) !== 0;
          const ms = Number(absolute ? ns - nowNs(clock) : ns) / 1e6;
          if (timeoutMs < 0 || ms < timeoutMs) {
            timeoutMs = Math.max(0, ms);
            clockSub = i;
          }
        } else if (tag === EVENTTYPE_FD_READ && v.getUint32(at + 16, true) === 0) {
          readSub = i;
        } else if (tag === EVENTTYPE_FD_WRITE) {
          writeSub = i;
        }
      }
      if (writeSub < 0 && readSub >= 0) pull(timeoutMs);
      let n = 0;
      const event = (sub: number, type: number, available: number, flags: number) => {
        const at = events + n * EVENT_BYTES;
        v.setBigUint64(at, v.getBigUint64(subs + sub * SUBSCRIPTION_BYTES, true), true);
        v.setUint16(at + 8, OK, true);
        v.setUint8(at + 10, type);
        v.setBigUint64(at + 16, BigInt(available), true);
        v.setUint16(at + 24, flags, true);
        n++;
      };
      if (writeSub >= 0) event(writeSub, EVENTTYPE_FD_WRITE, 0, 0);
      if (readSub >= 0 && (inboxSize > 0 || ended)) {
        event(readSub, EVENTTYPE_FD_READ, inboxSize, ended ? EVENTRWFLAG_HANGUP : 0);
      }
      if (n === 0 && clockSub >= 0) {
        if (readSub < 0) Atomics.wait(signal, SLEEP, 0, Math.ceil(timeoutMs)); // a plain sleep
        event(clockSub, EVENTTYPE_CLOCK, 0, 0);
      }
      v.setUint32(nevents, n, true);
      return OK;
    },
    proc_exit(code: number) {
      throw new ProcExit(code);
    },
    random_get(buf: number, len: number) {
      crypto.getRandomValues(bytes().subarray(buf, buf + len));
      return OK;
    },
    sched_yield: () => OK,
  };

  // Anything else WASI offers (files, sockets, ...) does not exist for the guest.
  const imports: Record<string, (...args: never[]) => number> = {};
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.module === "wasi_snapshot_preview1" && entry.kind === "function") {
      imports[entry.name] = wasi[entry.name] ?? (() => ENOSYS);
    }
  }

  let code = 0;
  let reason = "exited";
  let message: string | undefined;
  try {
    const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports });
    memory = instance.exports.memory as WebAssembly.Memory;
    take(boot);
    (instance.exports._start as () => void)();
  } catch (error) {
    if (error instanceof ProcExit) code = error.code;
    else if (error instanceof Violation) {
      code = -1;
      reason = "violation";
      message = error.message;
    } else {
      code = -1;
      reason = error instanceof WebAssembly.RuntimeError ? "trap" : "failed";
      message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
  post({ op: "exit", id: instanceId, code, reason, message });
}

// The host may lower this thread's scheduling priority (a long run must not slow short runs of
// other sessions); on Linux it needs the thread's own id.
try {
  const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  if (Number.isInteger(tid)) post({ op: "thread", tid });
} catch {
  // not Linux: the priority stays as it is
}

// Between guests the thread waits in its event loop for the next start request; input meant
// for a guest that has ended is dropped.
input.on("message", (message: WorkerInbound | string | null) => {
  if (message !== null && typeof message === "object" && message.op === "start") {
    run(message.id, message.boot);
  }
});
