import type { SessionData, SessionLogEntry, SessionRecord } from "../../contracts/session-store.js";
import { ErrorCodes, hasErrorCode } from "../../errors.js";
import type { JsonObject } from "../../json.js";
import { sessionData, updateSession } from "../../sessions/session-data.js";
import type { EngineParts } from "./engine-parts.js";
import type { SessionTurn } from "./session-turn.js";

export interface SessionChanges {
  /** The state the program left; undefined when it failed (the state stays as it was). */
  state: JsonObject | undefined;
  entry: SessionLogEntry;
  toolCalls: number;
  tokensUsed: number;
  tokensPlainMcp: number;
  costUsd: number;
}

/**
 * Saves what the execution changed, fenced by the turn's lease and giving it back in the same
 * step. The program's state was computed from the session read under this lease, so writing it
 * loses nobody's update; a lease that lapsed and was granted again writes nothing.
 */
export async function saveSession(
  parts: EngineParts,
  turn: SessionTurn,
  session: SessionRecord,
  changes: SessionChanges,
): Promise<void> {
  const apply = (data: SessionData): SessionData => ({
    ...data,
    ...(changes.state ? { state: changes.state } : {}),
    log: [...data.log, changes.entry],
    counters: {
      executions: data.counters.executions + 1,
      toolCalls: data.counters.toolCalls + changes.toolCalls,
      tokensUsed: data.counters.tokensUsed + changes.tokensUsed,
      tokensPlainMcp: data.counters.tokensPlainMcp + changes.tokensPlainMcp,
      costUsd: data.counters.costUsd + changes.costUsd,
    },
  });
  const write = { lease: turn.lease, release: true };
  try {
    await parts.timedStore("update", async () => {
      try {
        await parts.sessions.update(
          session.id,
          session.version,
          apply(sessionData(session)),
          write,
        );
      } catch (error) {
        // A writer that takes no turn (an admin deleting or editing the session) came between:
        // apply the changes to what is there now, still fenced by the lease.
        const racedByAdmin =
          hasErrorCode(error, ErrorCodes.SESSION_CONFLICT) ||
          hasErrorCode(error, ErrorCodes.SESSION_NOT_FOUND);
        if (!racedByAdmin) throw error;
        await updateSession(parts.sessions, session.id, apply, {
          // A session that expired while it ran comes back with its own TTL, not the default.
          createWith: { tenant: session.tenant, allow: session.allow, ttlMs: session.ttlMs },
          write,
        });
      }
    });
    turn.markReleasedBySave();
  } catch (error) {
    // The program ran; losing its bookkeeping must not turn its result into an error,
    // but a state change that did not persist must be reported.
    if (changes.state && JSON.stringify(changes.state) !== JSON.stringify(session.state))
      throw error;
  }
}
