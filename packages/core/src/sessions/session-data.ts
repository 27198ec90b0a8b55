import type {
  SessionCreateInput,
  SessionData,
  SessionRecord,
  SessionStore,
  SessionWriteOptions,
} from "../contracts/session-store.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../errors.js";

export const DEFAULT_SESSION_TTL_MS = 60 * 60 * 1000;
/** Execution-log entries a session keeps (newest). */
export const SESSION_LOG_LIMIT = 100;
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function assertSessionId(id: unknown): asserts id is string {
  if (typeof id !== "string" || !SESSION_ID.test(id)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `A session id is 1-128 characters of letters, digits and . _ : @ -, starting with a letter or digit; got ${JSON.stringify(id)}.`,
    );
  }
}

export function assertTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== "number" || !Number.isInteger(ttlMs) || ttlMs < 1) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `A session TTL is a positive integer of milliseconds; got ${ttlMs}.`,
    );
  }
}

/** The data of a new session with every field filled. */
export function newSessionData(input: Partial<SessionData> = {}): SessionData {
  return {
    tenant: input.tenant ?? "default",
    allow: input.allow ?? {},
    state: input.state ?? {},
    files: input.files ?? {},
    snippets: input.snippets ?? {},
    log: input.log ?? [],
    counters: input.counters ?? {
      executions: 0,
      toolCalls: 0,
      tokensUsed: 0,
      tokensPlainMcp: 0,
      costUsd: 0,
    },
  };
}

/** Builds the first version of a record; stores use it so every backend fills fields alike. */
export function newSessionRecord(input: SessionCreateInput, now = Date.now()): SessionRecord {
  assertSessionId(input.id);
  const ttlMs = input.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  assertTtl(ttlMs);
  const at = new Date(now).toISOString();
  return {
    id: input.id,
    version: 1,
    createdAt: at,
    updatedAt: at,
    ttlMs,
    expiresAt: new Date(now + ttlMs).toISOString(),
    ...newSessionData(input),
  };
}

/** The next version of a record after a successful compare-and-set. */
export function nextSessionRecord(
  current: Pick<SessionRecord, "id" | "version" | "createdAt" | "ttlMs">,
  next: SessionData,
  now = Date.now(),
): SessionRecord {
  return {
    ...newSessionData(next),
    id: current.id,
    version: current.version + 1,
    createdAt: current.createdAt,
    updatedAt: new Date(now).toISOString(),
    ttlMs: current.ttlMs,
    expiresAt: new Date(now + current.ttlMs).toISOString(),
    log: next.log.slice(-SESSION_LOG_LIMIT),
  };
}

export function sessionData(record: SessionRecord): SessionData {
  const { tenant, allow, state, files, snippets, log, counters } = record;
  return { tenant, allow, state, files, snippets, log, counters };
}

export interface UpdateSessionOptions {
  /** Attempts before giving up with SESSION_CONFLICT. Default 10. */
  attempts?: number;
  /** Create the session with these fields when it does not exist. */
  createWith?: Omit<SessionCreateInput, "id">;
  /** A copy of the record read moments ago: the first attempt starts from it instead of reading
   * again (if it is stale, that attempt meets SESSION_CONFLICT and the next one re-reads). */
  current?: SessionRecord;
  /** The lease the writes are fenced by (and whether the last one gives it back). */
  write?: SessionWriteOptions;
}

/**
 * Read-modify-write with compare-and-set: re-reads and re-applies `change` when another
 * writer won. `change` must be a pure function of the data it gets.
 */
export async function updateSession(
  store: SessionStore,
  id: string,
  change: (data: SessionData, record: SessionRecord) => SessionData | Promise<SessionData>,
  options: UpdateSessionOptions = {},
): Promise<SessionRecord> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    let record = attempt === 1 && options.current ? options.current : await store.get(id);
    if (!record) {
      if (!options.createWith) {
        throw new OptimizerError(
          ErrorCodes.SESSION_NOT_FOUND,
          `No session "${id}" (it may have expired).`,
        );
      }
      try {
        record = await store.create(
          { ...options.createWith, id },
          options.write?.lease ? { lease: options.write.lease } : {},
        );
      } catch (error) {
        if (!hasErrorCode(error, ErrorCodes.SESSION_EXISTS)) throw error;
        continue;
      }
    }
    // Stores hand out copies, so `change` may edit what it gets.
    const next = await change(sessionData(record), record);
    try {
      return await store.update(id, record.version, next, options.write);
    } catch (error) {
      if (!hasErrorCode(error, ErrorCodes.SESSION_CONFLICT) || attempt >= attempts) throw error;
      // Back off a little so hot sessions do not livelock.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }
}
