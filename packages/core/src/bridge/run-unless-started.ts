import type { SandboxJob, SandboxOutcome } from "../contracts/sandbox.js";
import { ErrorCodes } from "../errors.js";
import { timeoutError } from "./bridge-run.js";

/** One try at a job: its outcome, and whether the runner took the job (acknowledged it). */
export interface JobAttempt {
  outcome: Promise<SandboxOutcome>;
  started: () => boolean;
}

/**
 * Runs a job on an acknowledging runner. A job the runner never took (still busy with leftovers
 * of an earlier program, or gone) has not started: it runs once more on a fresh runner, within
 * the same deadline. A job that started, or a second failure, is final.
 */
export async function runUnlessStarted(
  job: SandboxJob,
  attempt: (job: SandboxJob) => Promise<JobAttempt>,
  closed: () => boolean,
): Promise<SandboxOutcome> {
  const first = job;
  const deadline = performance.now() + job.limits.timeoutMs;
  for (let tries = 1; ; tries++) {
    const { outcome, started } = await attempt(job);
    try {
      return await outcome;
    } catch (error) {
      const left = Math.floor(deadline - performance.now());
      // A retry's timeout names the job's limit, not what was left of it.
      if (tries > 1 && (error as { code?: unknown }).code === ErrorCodes.SANDBOX_TIMEOUT) {
        throw timeoutError(first.limits.timeoutMs);
      }
      if (started() || tries > 1 || closed() || left < 1) throw error;
      job = { ...job, limits: { ...job.limits, timeoutMs: left } };
    }
  }
}
