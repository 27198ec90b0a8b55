import { randomUUID } from "node:crypto";
import type { SessionLease, SessionLeaseOptions } from "../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

interface Held {
  token: number;
  holder: string;
  expiresAt: number;
  lapse: NodeJS.Timeout;
}

interface Waiter {
  ttlMs: number;
  grant: (lease: SessionLease) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Session leases within one process: the memory store's half of the lease contract. A
 * session's waiters queue in order of arrival and are handed the lease as it is released or
 * lapses, without polling. Tokens come from one counter, so they only grow.
 */
export class LeaseTable {
  private readonly held = new Map<string, Held>();
  private readonly queues = new Map<string, Waiter[]>();
  /** The token of each session's latest grant: a save must carry it. */
  private readonly fences = new Map<string, number>();
  private seq = 0;

  acquire(id: string, options: SessionLeaseOptions): Promise<SessionLease> {
    assertLeaseOptions(options);
    const queue = this.queues.get(id);
    if (!this.isHeld(id) && !queue?.length) return Promise.resolve(this.grant(id, options.ttlMs));
    return new Promise<SessionLease>((resolve, reject) => {
      const waiter: Waiter = { ttlMs: options.ttlMs, grant: resolve, timer: undefined };
      waiter.timer = setTimeout(() => {
        const list = this.queues.get(id);
        const at = list?.indexOf(waiter) ?? -1;
        if (at === -1) return;
        list!.splice(at, 1);
        reject(busyError(id, options.waitMs));
      }, options.waitMs);
      const list = queue ?? [];
      list.push(waiter);
      this.queues.set(id, list);
    });
  }

  renew(lease: SessionLease, ttlMs: number): boolean {
    const held = this.held.get(lease.sessionId);
    if (!held || held.token !== lease.token || held.expiresAt <= Date.now()) return false;
    clearTimeout(held.lapse);
    held.expiresAt = Date.now() + ttlMs;
    held.lapse = this.lapseTimer(lease.sessionId, held.token, ttlMs);
    return true;
  }

  release(lease: SessionLease): void {
    const held = this.held.get(lease.sessionId);
    if (!held || held.token !== lease.token) return;
    clearTimeout(held.lapse);
    this.held.delete(lease.sessionId);
    this.handOver(lease.sessionId);
  }

  /** Whether a write carrying `lease` may happen: no later lease of the session was granted. */
  isCurrent(lease: SessionLease): boolean {
    return this.fences.get(lease.sessionId) === lease.token;
  }

  /** Forgets a session's fence once nothing holds or waits for it (its session is gone). */
  forget(id: string): void {
    if (!this.isHeld(id) && !this.queues.get(id)?.length) this.fences.delete(id);
  }

  clear(): void {
    for (const held of this.held.values()) clearTimeout(held.lapse);
    for (const queue of this.queues.values())
      for (const waiter of queue) clearTimeout(waiter.timer);
    this.held.clear();
    this.queues.clear();
    this.fences.clear();
  }

  private isHeld(id: string): boolean {
    const held = this.held.get(id);
    return held !== undefined && held.expiresAt > Date.now();
  }

  private grant(id: string, ttlMs: number): SessionLease {
    const token = ++this.seq;
    const holder = randomUUID();
    this.held.set(id, {
      token,
      holder,
      expiresAt: Date.now() + ttlMs,
      lapse: this.lapseTimer(id, token, ttlMs),
    });
    this.fences.set(id, token);
    return { sessionId: id, token, holder };
  }

  /** A lease not renewed in time lapses: the next waiter gets the turn. */
  private lapseTimer(id: string, token: number, ttlMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (this.held.get(id)?.token !== token) return;
      this.held.delete(id);
      this.handOver(id);
    }, ttlMs);
    timer.unref();
    return timer;
  }

  private handOver(id: string): void {
    const queue = this.queues.get(id);
    const next = queue?.shift();
    if (!queue?.length) this.queues.delete(id);
    if (!next) return;
    clearTimeout(next.timer);
    next.grant(this.grant(id, next.ttlMs));
  }
}

export function assertLeaseOptions(options: SessionLeaseOptions): void {
  const { ttlMs, waitMs } = options;
  if (!Number.isInteger(ttlMs) || ttlMs < 1) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `A lease TTL is a positive integer of milliseconds; got ${ttlMs}.`,
    );
  }
  if (!Number.isInteger(waitMs) || waitMs < 0) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `A lease wait is an integer of milliseconds, 0 or more; got ${waitMs}.`,
    );
  }
}

/** SESSION_BUSY, saying how long the caller waited and what to change. */
export function busyError(id: string, waitedMs: number): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SESSION_BUSY,
    `Session "${id}" was busy with other executions for ${waitedMs} ms, the longest this one may wait; it did not run. Retry, run fewer executions of one session at once, or raise sessionLease.waitMs.`,
    { details: { sessionId: id, waitedMs } },
  );
}

/** SESSION_LEASE_LOST: a write with a lease that a later grant replaced. */
export function leaseLostError(id: string): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SESSION_LEASE_LOST,
    `The lease on session "${id}" lapsed and another execution took the session's turn, so this write was refused and nothing was saved. Raise sessionLease.ttlMs if executions are paused for longer than it.`,
    { details: { sessionId: id } },
  );
}
