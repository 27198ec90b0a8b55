import type { TranscriptPath } from "@mcp-optimizer/core";

/**
 * A model of a model's speed: what one round trip costs in time. Each round trip waits for
 * the first token, reads the whole context so far (the context is sent again every turn), and
 * writes its output. Defaults are assumptions, not measurements: set them to your model's.
 */
export interface ModelSpeed {
  /** Time to first token of one request, in ms (queueing, network, fixed overhead). Default 600. */
  timeToFirstTokenMs: number;
  /** Input tokens read per second: the context re-sent each turn. Default 5000. */
  inputTokensPerSecond: number;
  /** Output tokens written per second. Default 60. */
  outputTokensPerSecond: number;
}

export const DEFAULT_MODEL_SPEED: ModelSpeed = {
  timeToFirstTokenMs: 600,
  inputTokensPerSecond: 5000,
  outputTokensPerSecond: 60,
};

/** One path's task time: the model's round trips and the measured work between them. */
export interface TaskTime {
  roundTrips: number;
  /** Time the model spends: first tokens, reading the context each turn, writing. */
  modelMs: number;
  /** Measured time of the work the round trips asked for (tool calls; code mode: the execution). */
  workMs: number;
  totalMs: number;
}

/**
 * The time of one path: for each round trip, the model's time (time to first token, the
 * context so far at the input speed, its output at the output speed), then the measured time
 * of the work it asked for; then the answering round trip, which reads everything. The answer's
 * own output is the same on both paths and left out, as in billedTokens.
 */
export function taskTime(
  path: TranscriptPath,
  workMs: readonly number[],
  speed: ModelSpeed,
): TaskTime {
  let context = path.definitions;
  let modelMs = 0;
  const turn = (output: number) =>
    speed.timeToFirstTokenMs +
    (context / speed.inputTokensPerSecond) * 1000 +
    (output / speed.outputTokensPerSecond) * 1000;
  for (const step of path.steps) {
    modelMs += turn(step.output);
    context += step.output + step.results;
  }
  modelMs += turn(0);
  const model = Math.round(modelMs);
  const work = Math.round(workMs.reduce((a, b) => a + b, 0));
  return { roundTrips: path.steps.length + 1, modelMs: model, workMs: work, totalMs: model + work };
}

/** How many times faster `now` is than `before`, to a tenth (1.0 when the same). */
export function speedUp(before: number, now: number): number {
  return now > 0 ? Math.round((before / now) * 10) / 10 : 0;
}
