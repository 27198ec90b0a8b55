#!/usr/bin/env node
import { parseArgs } from "node:util";
import { isOptimizerError, nodeVersionProblem } from "@mcp-optimizer/core";
import { generateApiKey } from "./auth/api-key-verifier.js";
import { loadGatewayConfig } from "./config/load-gateway-config.js";
import { createGateway, type Gateway } from "./create-gateway.js";

const HELP = `Usage: mcp-optimizer-gateway [--config FILE]
       mcp-optimizer-gateway keygen --id ID --tenant TENANT [--principal NAME]

Serves code mode over Streamable HTTP to many tenants: OAuth bearer JWTs or API keys,
per-tenant servers, allowlists, sandboxes and quotas, sessions in Redis shared by every
replica. Without a config file: one tenant ("default"), no servers, on 127.0.0.1:8080,
sessions in memory (one replica).

Environment: MCPO_GATEWAY_CONFIG (the file), MCPO_GATEWAY_LISTEN (HOST:PORT),
MCPO_GATEWAY_PUBLIC_URL, MCPO_GATEWAY_REDIS_URL, and \${VAR} in the file.
SIGTERM or SIGINT: stop taking requests, finish those in flight (gateway.drainTimeoutMs), exit 0.
SIGHUP: read the config file again and apply the feature flags (the rest takes a restart).

keygen prints a new API key (shown once) and the entry for auth.apiKeys (only its SHA-256).
Docs: apps/gateway/README.md, docs/deployment.md.
`;

async function main(argv: string[]): Promise<number> {
  const problem = nodeVersionProblem();
  if (problem) {
    process.stderr.write(`mcp-optimizer-gateway: ${problem}\n`);
    return 4;
  }
  if (argv[0] === "keygen") return keygen(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = loadGatewayConfig({ file: values.config });
  const gateway = await createGateway({ config });
  process.stdout.write(
    `${JSON.stringify({ listening: gateway.url, publicUrl: gateway.publicUrl, tenants: [...config.tenants.keys()], pid: process.pid })}\n`,
  );
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(
        `mcp-optimizer-gateway: ${signal}: draining ${gateway.server.inFlight} request(s), at most ${config.drainTimeoutMs} ms\n`,
      );
      void gateway.shutdown().then(({ drained }) => {
        process.stderr.write(
          `mcp-optimizer-gateway: stopped${drained ? "" : " (deadline reached; requests still in flight were cut)"}\n`,
        );
        resolve(0);
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    let reloading = Promise.resolve();
    process.on("SIGHUP", () => {
      reloading = reloading.then(() => reload(gateway, config.file));
    });
  });
}

/** SIGHUP: the feature flags of the config file read again; what else changed is only named. */
async function reload(gateway: Gateway, file: string | undefined): Promise<void> {
  const say = (line: string) => process.stderr.write(`mcp-optimizer-gateway: ${line}\n`);
  try {
    const next = loadGatewayConfig({ file });
    const { changes, restart } = gateway.reloadFeatures(next, "sighup");
    const changed = changes.flatMap(({ tenant, changes: list }) =>
      list.map(
        (c) =>
          `${tenant}: ${c.flag} ${c.from ? "on" : "off"} -> ${c.to ? "on" : "off"} (${c.source})`,
      ),
    );
    say(
      changed.length === 0
        ? "reloaded the config on SIGHUP: no feature flag changed"
        : `reloaded the config on SIGHUP: ${changed.join(", ")}`,
    );
    if (restart.length > 0)
      say(
        `the config's ${restart.join(", ")} changed too: only feature flags reload; restart the gateway to apply the rest`,
      );
  } catch (error) {
    const message = isOptimizerError(error) ? error.message : String(error);
    say(`SIGHUP: the config was not reloaded, the gateway runs on as it was: ${message}`);
  }
}

function keygen(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: "string" },
      tenant: { type: "string" },
      principal: { type: "string" },
    },
  });
  if (!values.id || !values.tenant) {
    process.stderr.write("keygen needs --id and --tenant\n");
    return 2;
  }
  const { key, entry } = generateApiKey(values.id, values.tenant, values.principal);
  process.stdout.write(`${JSON.stringify({ key, entry }, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const config = isOptimizerError(error) && error.code === "INVALID_CONFIG";
    process.stderr.write(`mcp-optimizer-gateway: ${(error as Error).message}\n`);
    process.exit(config ? 2 : 4);
  },
);
