/** Messages between the host and a guest thread (guest-worker.ts). */

/**
 * host -> thread, on the input port: start a guest. Between a start and the guest's exit,
 * the port carries the guest's stdin: strings (or UTF-8 bytes for long frames), then `null`
 * for the end of input.
 */
export interface WorkerInbound {
  op: "start";
  /** Names the guest in what the thread reports. */
  id: number;
  /** The first stdin line (the boot frame). */
  boot: string;
}

/** thread -> host. */
export type WorkerOutbound =
  /** The thread's operating-system id (Linux), sent once at start. */
  | { op: "thread"; tid: number }
  /** A chunk of the guest's stdout (bridge frames). */
  | { op: "out"; id: number; data: Uint8Array }
  /** A chunk of the guest's stderr (diagnostics, capped). */
  | { op: "err"; id: number; data: string }
  /**
   * The guest ended: by itself (`exited`), by a wasm trap (`trap`), failing to start
   * (`failed`), or stopped by the thread for output no runner writes (`violation`).
   */
  | { op: "exit"; id: number; code: number; reason: string; message?: string };
