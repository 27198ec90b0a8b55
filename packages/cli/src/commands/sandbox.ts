import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { writeJson, writeLine } from "../io.js";
import { importOptional } from "../runtime/resolve-package.js";
import { usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer sandbox build-image [--tag TAG] [--force] [--json]

Builds the docker sandbox's runner image offline (this host's Node binary and the libraries
it links; no registry), on the engine DOCKER_HOST names. Needed once before mode docker,
gvisor or hybrid uses containers.

Options:
  --tag TAG   image tag (default mcp-optimizer/sandbox-runner:node<version>-<arch>)
  --force     rebuild even when the tag exists
  --json      print the result as JSON
  -h, --help  this help
`;

interface DockerModule {
  buildRunnerImage(options: { tag?: string; force?: boolean }): Promise<{
    tag: string;
    id: string;
    built: boolean;
    sizeBytes: number;
  }>;
}

export const sandboxCommand: Command = {
  name: "sandbox",
  summary: "sandbox maintenance: build-image (docker runner image)",
  help: HELP,
  maxPositionals: 1,
  options: { tag: { type: "string" }, force: { type: "boolean" }, json: { type: "boolean" } },
  async run({ values, positionals, io }) {
    if (positionals[0] !== "build-image") {
      throw usageError(
        `sandbox takes build-image${positionals[0] ? `; got "${positionals[0]}"` : ""}`,
        "sandbox",
      );
    }
    const loaded = await importOptional<DockerModule>("@mcp-optimizer/sandbox-docker");
    if (!loaded.module) {
      throw new OptimizerError(
        ErrorCodes.SANDBOX_UNAVAILABLE,
        `Cannot build the image: ${loaded.error}.`,
      );
    }
    const tag = stringFlag(values, "tag");
    writeLine(io.stderr, "mcp-optimizer: building the runner image...");
    const image = await loaded.module.buildRunnerImage({
      ...(tag ? { tag } : {}),
      force: boolFlag(values, "force"),
    });
    if (boolFlag(values, "json")) writeJson(io.stdout, image);
    else {
      writeLine(
        io.stderr,
        `${image.built ? "Built" : "Already present:"} ${image.tag} (${(image.sizeBytes / 1e6).toFixed(1)} MB)`,
      );
      writeLine(io.stdout, image.tag);
    }
    return ExitCodes.OK;
  },
};
