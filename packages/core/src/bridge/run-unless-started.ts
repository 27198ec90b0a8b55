import type { SandboxJob, SandboxOutcome } from "../contracts/sandbox.js";

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
  const deadline = performance.now() + job.limits.timeoutMs;
  for (let tries = 1; ; tries++) {
    const { outcome, started } = await attempt(job);
    try {
      return await outcome;
    } catch (error) {
      const left = Math.floor(deadline - performance.now());
      if (started() || tries > 1 || closed() || left < 1) throw error;
      job = { ...job, limits: { ...job.limits, timeoutMs: left } };
    }
  }
}
