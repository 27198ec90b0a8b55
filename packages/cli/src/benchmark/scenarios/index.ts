import type { BenchmarkScenario } from "../scenario.js";

/**
 * Every benchmark scenario, in the order they run. Add a scenario by importing it and
 * appending it to this list (one line each).
 */
export const scenarios: BenchmarkScenario[] = [];
