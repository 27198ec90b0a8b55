/**
 * The oldest Node.js the packages support: the OpenTelemetry SDK 3 (telemetry-otel, the CLI)
 * needs 22.15. Every package.json's `engines.node` says `>=` this (a test checks).
 */
export const MINIMUM_NODE_VERSION = "22.15.0";

/** The first Node.js with the stable permission model (`--permission`) the process sandbox runs under. */
export const PERMISSION_MODEL_NODE_VERSION = "22.13.0";

/** Compares dotted versions ("20.20.2", "v22.15.0") by number: <0, 0 or >0. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .replace(/^v/, "")
      .split(".")
      .map((n) => Number.parseInt(n, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Why this Node.js is too old for the packages, or undefined when it is not: one sentence
 * naming the minimum, for a start-up check that prints it and exits.
 */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  if (compareVersions(version, MINIMUM_NODE_VERSION) >= 0) return undefined;
  return `MCP Optimizer needs Node.js >= ${MINIMUM_NODE_VERSION}; this is Node.js v${version.replace(/^v/, "")} (${process.execPath}). Install Node.js 22.15 or newer (24 recommended), e.g. with nvm, fnm or volta, and run it again.`;
}
