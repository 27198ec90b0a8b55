import {
  type FeatureSettings,
  featuresFromEnv,
  layerFeatures,
  type ResolvedFeatures,
  resolveFeatures,
} from "@mcp-optimizer/core";
import type { CliConfig } from "../config/schema.js";

/**
 * The flags as the CLI sets them: the config file's `features`, then MCPO_FEATURE_<NAME>
 * variables over them; each value carries where it came from (`capabilities` shows it).
 */
export function cliFeatureSettings(
  config: CliConfig,
  env: Record<string, string | undefined>,
): { settings: FeatureSettings; resolved: ResolvedFeatures } {
  const settings = layerFeatures([
    { source: "config", values: config.features ?? {} },
    { source: "environment", values: featuresFromEnv(env) },
  ]);
  return { settings, resolved: resolveFeatures(settings) };
}
