/** Messages between the host and the engine process over its IPC channel. */

/** host -> engine process. */
export type EngineInbound =
  /** Start a guest and write `boot` (the boot frame line) to its stdin. */
  | { op: "start"; gid: number; boot: string }
  /** Bytes for a guest's stdin. */
  | { op: "write"; gid: number; data: string }
  /** Ask Wasmer to kill a guest (works unless it spins without system calls). */
  | { op: "kill"; gid: number };

/** engine process -> host. */
export type EngineOutbound =
  /** Wasmer is initialised and the engine module is loaded. */
  | { op: "ready"; initMs: number }
  /** Initialisation failed; the process exits. */
  | { op: "failed"; message: string }
  /** A chunk of a guest's stdout (bridge frames). */
  | { op: "out"; gid: number; data: string }
  /** A chunk of a guest's stderr (diagnostics). */
  | { op: "err"; gid: number; data: string }
  /** A guest ended. */
  | { op: "exit"; gid: number; code: number; reason: string; message?: string };
