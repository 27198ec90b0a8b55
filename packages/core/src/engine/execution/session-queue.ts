import { busyError } from "../../sessions/lease-table.js";

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Executions of one session in this process, one at a time in order of arrival: each waits
 * for the one before it to leave (no polling), and gives up with SESSION_BUSY after its wait.
 */
export class SessionQueue {
  /** Sessions with an execution inside, and who waits behind it. */
  private readonly lines = new Map<string, Waiter[]>();

  /** Resolves when it is this caller's turn; call the returned `leave` exactly once after. */
  async enter(id: string, waitMs: number): Promise<() => void> {
    const line = this.lines.get(id);
    if (!line) {
      this.lines.set(id, []);
      return this.leaver(id);
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        admit: resolve,
        timer: setTimeout(() => {
          line.splice(line.indexOf(waiter), 1);
          reject(busyError(id, waitMs));
        }, waitMs),
      };
      line.push(waiter);
    });
    return this.leaver(id);
  }

  /** Executions inside or waiting, per session (for tests and gauges). */
  get sessions(): number {
    return this.lines.size;
  }

  private leaver(id: string): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const line = this.lines.get(id)!;
      const next = line.shift();
      if (!next) {
        this.lines.delete(id);
        return;
      }
      clearTimeout(next.timer);
      next.admit();
    };
  }
}
