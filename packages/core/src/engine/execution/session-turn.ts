import type { SessionLease, SessionRecord, SessionStore } from "../../contracts/session-store.js";
import { ErrorCodes, hasErrorCode } from "../../errors.js";
import { busyError } from "../../sessions/lease-table.js";
import type { SessionQueue } from "./session-queue.js";

export interface SessionLeaseSettings {
  /** How long a session's turn holds without renewal, in ms; renewed every third of it while a program runs. Default 15000. */
  ttlMs?: number;
  /** How long an execution waits for its session's turn before SESSION_BUSY, in ms. Default 30000. */
  waitMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 15_000;
export const DEFAULT_LEASE_WAIT_MS = 30_000;

/** One execution's turn on its session: in this process (the queue) and in the store (the lease). */
export interface SessionTurn {
  readonly lease: SessionLease;
  /** The session as read when the turn began; undefined when it does not exist yet. */
  readonly record: SessionRecord | undefined;
  /** The store gave the lease back with the save: nothing is left to release in it. */
  markReleasedBySave(): void;
  /** Ends the turn: stops renewing, gives the lease back, lets the next execution in. Idempotent. */
  end(): Promise<void>;
}

export interface TakeTurnDeps {
  sessions: SessionStore;
  queue: SessionQueue;
  lease: Required<SessionLeaseSettings>;
  /** Runs a store operation with its duration recorded. */
  timedStore<T>(operation: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Waits for the session's turn: first behind this process's executions of the session (in
 * order of arrival, no polling), then for the store's lease (other replicas), within one
 * wait. The lease is renewed while the turn lasts. Fails with SESSION_BUSY before anything runs.
 */
export async function takeSessionTurn(deps: TakeTurnDeps, id: string): Promise<SessionTurn> {
  const { sessions, lease: settings } = deps;
  const started = performance.now();
  const leave = await deps.queue.enter(id, settings.waitMs);
  let leased: Awaited<ReturnType<SessionStore["acquireLease"]>>;
  try {
    const waitMs = Math.max(0, Math.floor(settings.waitMs - (performance.now() - started)));
    leased = await deps.timedStore("acquire_lease", () =>
      sessions.acquireLease(id, { ttlMs: settings.ttlMs, waitMs }),
    );
  } catch (error) {
    leave();
    // The store counts only its own part of the wait: say how long this execution waited.
    if (hasErrorCode(error, ErrorCodes.SESSION_BUSY)) throw busyError(id, settings.waitMs);
    throw error;
  }
  const { lease } = leased;
  const renewal = setInterval(
    () => {
      // A renewal that fails leaves the lease to lapse; the fence then refuses a late save.
      sessions.renewLease(lease, settings.ttlMs).catch(() => {});
    },
    Math.max(1, Math.floor(settings.ttlMs / 3)),
  );
  renewal.unref();
  let releasedBySave = false;
  let ended = false;
  return {
    lease,
    record: leased.record,
    markReleasedBySave: () => {
      releasedBySave = true;
    },
    end: async () => {
      if (ended) return;
      ended = true;
      clearInterval(renewal);
      try {
        if (!releasedBySave)
          await deps.timedStore("release_lease", () => sessions.releaseLease(lease));
      } catch {
        // Unreleased, the lease lapses after its TTL: the session waits, nothing is lost.
      } finally {
        leave();
      }
    },
  };
}
