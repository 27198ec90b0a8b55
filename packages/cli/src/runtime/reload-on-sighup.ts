import { isOptimizerError } from "@mcp-optimizer/core";
import { loadConfig } from "../config/load-config.js";
import type { Runtime } from "./create-runtime.js";
import { cliFeatureSettings } from "./load-features.js";

/**
 * `serve` re-reads its config file on SIGHUP and applies what can change without a restart:
 * the feature flags (each change is audited as `feature_change` by the optimizer). A flag that
 * takes a restart, a config that no longer parses, or changes to any other section are said on
 * stderr and leave the running server as it was. Returns the function that stops listening.
 */
export function reloadOnSighup(
  runtime: Runtime,
  options: {
    configFile: string | undefined;
    env: Record<string, string | undefined>;
    say: (message: string) => void;
  },
): () => void {
  let applied = JSON.stringify(withoutFeatures(runtime.loaded.config));
  let busy = Promise.resolve();
  const reload = async () => {
    try {
      const next = await loadConfig({ explicit: options.configFile ?? runtime.loaded.file });
      const { settings } = cliFeatureSettings(next.config, options.env);
      const changes = runtime.optimizer.setFeatures(settings, { actor: "sighup" });
      options.say(
        changes.length === 0
          ? "reloaded the config on SIGHUP: no feature flag changed"
          : `reloaded the config on SIGHUP: ${changes.map((c) => `${c.flag} ${c.from ? "on" : "off"} -> ${c.to ? "on" : "off"} (${c.source})`).join(", ")}`,
      );
      const rest = JSON.stringify(withoutFeatures(next.config));
      if (rest !== applied) {
        const changed = Object.keys({ ...runtime.loaded.config, ...next.config }).filter(
          (k) =>
            k !== "features" &&
            JSON.stringify((runtime.loaded.config as Record<string, unknown>)[k]) !==
              JSON.stringify((next.config as Record<string, unknown>)[k]),
        );
        options.say(
          `the config's ${changed.join(", ")} changed too: only feature flags reload; restart serve to apply the rest`,
        );
        applied = rest;
      }
    } catch (error) {
      const message = isOptimizerError(error) ? error.message : String(error);
      options.say(`SIGHUP: the config was not reloaded, the server runs on as it was: ${message}`);
    }
  };
  const onSignal = () => {
    busy = busy.then(reload);
  };
  process.on("SIGHUP", onSignal);
  return () => process.off("SIGHUP", onSignal);
}

function withoutFeatures(config: object): object {
  const { features: _features, ...rest } = config as { features?: unknown };
  return rest;
}
