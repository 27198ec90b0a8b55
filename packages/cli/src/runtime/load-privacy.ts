import {
  ErrorCodes,
  OptimizerError,
  type PiiDetector,
  type PrivacyOptions,
} from "@mcp-optimizer/core";
import type { CliConfig } from "../config/schema.js";
import { importOptional } from "./resolve-package.js";

/** The package of the Presidio detector, imported only when `privacy.presidio` is set. */
export const PRESIDIO_PACKAGE = "@mcp-optimizer/detector-presidio";

type PresidioModule = {
  createPresidioDetector?: (options: Record<string, unknown>) => PiiDetector;
  entityOfKind?: (kind: string) => string;
};

/**
 * The config's `privacy` as core takes it: with `presidio`, its detector made from
 * @mcp-optimizer/detector-presidio, asking by default for the entity types of `tokenize`.
 */
export async function cliPrivacy(
  config: NonNullable<CliConfig["privacy"]>,
): Promise<PrivacyOptions> {
  const { presidio, ...privacy } = config;
  if (!presidio) return privacy;
  if (privacy.defaultRegion !== undefined || privacy.rules !== undefined) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      "privacy.defaultRegion and privacy.rules set up the built-in detector, and privacy.presidio replaces it: remove them, or configure Presidio's recognizers instead.",
    );
  }
  const loaded = await importOptional<PresidioModule>(PRESIDIO_PACKAGE);
  const mod = loaded.module;
  if (!mod?.createPresidioDetector || !mod.entityOfKind) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `privacy.presidio needs ${PRESIDIO_PACKAGE}: ${loaded.error?.replace(/\.+$/, "") ?? "it does not export createPresidioDetector()"}. Install it next to @mcp-optimizer/cli, or remove privacy.presidio to use the built-in detector.`,
      { details: { package: PRESIDIO_PACKAGE } },
    );
  }
  const entities = presidio.entities ?? (privacy.tokenize ?? []).map(mod.entityOfKind);
  return {
    ...privacy,
    detector: mod.createPresidioDetector({
      ...presidio,
      ...(Array.isArray(entities) && entities.length === 0 ? {} : { entities }),
    }),
  };
}
