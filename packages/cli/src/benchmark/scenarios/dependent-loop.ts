import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert } from "./fixtures.js";

const STEPS = 50;

/** Scenario 3: 50 tool calls, each needing the previous one's answer. */
export const dependentLoop: BenchmarkScenario = {
  id: "dependent-loop",
  title: "50 dependent tool calls",
  description:
    "server-memory: follow a chain of 50 knowledge-graph entities, each naming the next, with open_nodes. Over plain MCP that is 50 model round trips.",
  small: true,
  async prepare(context) {
    const file = join(context.workDir, "memory.jsonl");
    const name = (i: number) => `step-${i}-${((i * 7919) % 1000).toString(36)}`;
    const lines = [];
    for (let i = 0; i <= STEPS; i++) {
      lines.push(
        JSON.stringify({
          type: "entity",
          name: name(i),
          entityType: "checkpoint",
          observations:
            i < STEPS
              ? [`next: ${name(i + 1)}`, `checked at step ${i}`]
              : ["end of chain", `secret: ${i * 31}`],
        }),
      );
    }
    writeFileSync(file, `${lines.join("\n")}\n`);
    const memory = context.serverCommand("@modelcontextprotocol/server-memory");
    const first = name(0);
    return {
      mcpServers: { memory: { ...memory, env: { MEMORY_FILE_PATH: file } } },
      program: `let current = ${JSON.stringify(first)};
let hops = 0;
for (;;) {
  const { entities } = await memory.open_nodes({ names: [current] });
  const next = entities[0].observations.find((o) => o.startsWith("next: "));
  if (!next) return { hops, last: current, found: entities[0].observations[1] };
  current = next.slice(6);
  hops++;
}`,
      async plain(client) {
        let current = first;
        for (let i = 0; i <= STEPS; i++) {
          const result = await client.call("memory", "open_nodes", { names: [current] });
          const graph = JSON.parse(client.text(result)) as {
            entities: { observations: string[] }[];
          };
          const next = graph.entities[0]?.observations.find((o) => o.startsWith("next: "));
          if (!next) return;
          current = next.slice(6);
        }
      },
      verify(value) {
        const v = value as { hops?: number; found?: string };
        assert(v.hops === STEPS, `expected ${STEPS} hops, got ${v.hops}`);
        assert(v.found === `secret: ${STEPS * 31}`, "the chain ended in the wrong place");
      },
    };
  },
};
