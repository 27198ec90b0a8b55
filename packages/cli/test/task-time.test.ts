import { describe, expect, test } from "vitest";
import { speedUp, taskTime } from "../src/benchmark/task-time.js";

// The speed model's arithmetic (logic only; the benchmark tests run it on real servers).
describe("task time", () => {
  const speed = { timeToFirstTokenMs: 500, inputTokensPerSecond: 1000, outputTokensPerSecond: 50 };

  test("each turn: time to first token, the context so far re-read, the output written; then the work", () => {
    // definitions 1000; one step writing 100 and reading 400 back; then the answer turn.
    const t = taskTime({ definitions: 1000, steps: [{ output: 100, results: 400 }] }, [250], speed);
    // turn 1: 500 + 1000 ms (1000 tokens) + 2000 ms (100 out); answer: 500 + 1500 ms (1500 tokens)
    expect(t).toEqual({ roundTrips: 2, modelMs: 5500, workMs: 250, totalMs: 5750 });
  });

  test("the context grows turn by turn: many dependent turns cost more than their tokens once", () => {
    const steps = Array.from({ length: 10 }, () => ({ output: 10, results: 100 }));
    const t = taskTime({ definitions: 2000, steps }, Array(10).fill(5), speed);
    const reread = Array.from({ length: 11 }, (_, i) => 2000 + 110 * i).reduce((a, b) => a + b, 0);
    expect(t.modelMs).toBe(Math.round(11 * 500 + reread + (100 / 50) * 1000));
    expect(t.workMs).toBe(50);
    expect(speedUp(t.totalMs, 1000)).toBe(Math.round((t.totalMs / 1000) * 10) / 10);
  });
});
