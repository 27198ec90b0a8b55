import {
  checkToolAllowed,
  ErrorCodes,
  OptimizerError,
  type SessionAllowlist,
  type Upstream,
} from "@mcp-optimizer/core";

/** The Sentry MCP tool that runs any tool of Sentry's catalog by name. */
export const SENTRY_GATEWAY_TOOL = "execute_sentry_tool";

/**
 * Holds the Sentry MCP server's gateway tool to an allowlist. The host checks each call against
 * the session's allowlist by the tool called, which for `execute_sentry_tool` says nothing about
 * the tool it runs (`update_issue`, `create_project` ...). This checks that target as
 * `<server>.<name>` against `allow` before the call leaves the host, and refuses it with
 * TOOL_DENIED, so denying `sentry.update_issue` also closes `execute_sentry_tool`'s way to it.
 */
export function guardSentryGateway(upstream: Upstream, allow: SessionAllowlist): void {
  const call = upstream.callTool.bind(upstream);
  upstream.callTool = (name, args, options) => {
    if (name === SENTRY_GATEWAY_TOOL) {
      const target = (args as { name?: unknown } | undefined)?.name;
      // A non-string name is the server's to refuse; it runs nothing.
      if (typeof target === "string") {
        const decision = checkToolAllowed(allow, upstream.name, target);
        if (!decision.allowed) {
          return Promise.reject(
            new OptimizerError(
              ErrorCodes.TOOL_DENIED,
              `${upstream.name}.${SENTRY_GATEWAY_TOOL} may not run "${target}": ${decision.reason}.`,
              { details: { server: upstream.name, tool: SENTRY_GATEWAY_TOOL, target } },
            ),
          );
        }
      }
    }
    return call(name, args, options);
  };
}
