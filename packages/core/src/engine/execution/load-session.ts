import type {
  SessionAllowlist,
  SessionRecord,
  SessionStore,
} from "../../contracts/session-store.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../../errors.js";
import type { SessionTurn } from "./session-turn.js";

export interface LoadSessionInput {
  id: string;
  /** The tenant the caller acts for: a session of another tenant is "not found". */
  tenant?: string;
  /** Fields of a new session. */
  create: { tenant: string; allow: SessionAllowlist; ttlMs?: number };
}

/** The session the turn read, or a new one created under the turn's lease. */
export async function loadSession(
  sessions: SessionStore,
  turn: SessionTurn,
  input: LoadSessionInput,
  timedStore: <T>(operation: string, fn: () => Promise<T>) => Promise<T>,
): Promise<SessionRecord> {
  const existing = turn.record ?? (await createUnderLease(sessions, turn, input, timedStore));
  if (input.tenant !== undefined && existing.tenant !== input.tenant) {
    throw new OptimizerError(
      ErrorCodes.SESSION_NOT_FOUND,
      `No session "${input.id}" for tenant "${input.tenant}".`,
    );
  }
  return existing;
}

async function createUnderLease(
  sessions: SessionStore,
  turn: SessionTurn,
  input: LoadSessionInput,
  timedStore: <T>(operation: string, fn: () => Promise<T>) => Promise<T>,
): Promise<SessionRecord> {
  try {
    return await timedStore("create", () =>
      sessions.create(
        {
          id: input.id,
          tenant: input.create.tenant,
          allow: input.create.allow,
          ...(input.create.ttlMs ? { ttlMs: input.create.ttlMs } : {}),
        },
        { lease: turn.lease },
      ),
    );
  } catch (error) {
    // Created by a writer that takes no turn (an admin tool) since the turn read it.
    if (hasErrorCode(error, ErrorCodes.SESSION_EXISTS)) {
      const record = await sessions.get(input.id);
      if (record) return record;
    }
    throw error;
  }
}
