import { expect, test } from "vitest";
import type { Sandbox, SandboxOutcome } from "../contracts/sandbox.js";
import { ErrorCodes } from "../errors.js";
import { describeHostile, type HostileKit, type HostileSuiteOptions } from "./hostile-kit.js";

/** Short runs the bystander makes while its neighbour spins. */
export const PEER_RUNS = 100;

/**
 * Peer isolation: while one session spins until its timeout, another session's 100 short
 * runs all finish, in order and correct. How much the spinner slows them is a benchmark's
 * business (each sandbox package's bench prints the p99 ratio against an idle machine).
 */
export function peerIsolationTests(kit: HostileKit, spinMs = 3000): void {
  test(
    `while one session spins for ${spinMs} ms, another session's ${PEER_RUNS} short runs all finish`,
    async () => {
      const spinner = kit
        .session()
        .execute(kit.job("for (;;) {}", { limits: { ...kit.limits, timeoutMs: spinMs } }), kit.host)
        .then(
          () => "returned",
          (error: { code?: string }) => error.code,
        );
      // Start once the spinner is running, so that the runs really overlap with it.
      await new Promise((r) => setTimeout(r, 100));
      const bystander = kit.sandbox();
      const session = await bystander.open({ sessionId: `peer-${Date.now()}` });
      const values: unknown[] = [];
      try {
        for (let i = 0; i < PEER_RUNS; i++) {
          const out: SandboxOutcome = await session.execute(
            kit.job(`return ${i} * 2 + (await demo.echo({ i: ${i} })).echoed.i`),
            kit.host,
          );
          values.push(out.value);
        }
      } finally {
        await session.close();
      }
      expect(values).toEqual(Array.from({ length: PEER_RUNS }, (_, i) => i * 3));
      expect(await spinner).toBe(ErrorCodes.SANDBOX_TIMEOUT);
    },
    Math.max(kit.timeout, spinMs + 60_000),
  );
}

/** `peerIsolationTests` with a sandbox of its own. */
export function describePeerIsolation(
  name: string,
  factory: () => Sandbox | Promise<Sandbox>,
  options: HostileSuiteOptions & { spinMs?: number } = {},
): void {
  describeHostile(`Peer isolation: ${name}`, name, { factory }, options, (kit) =>
    peerIsolationTests(kit, options.spinMs),
  );
}
