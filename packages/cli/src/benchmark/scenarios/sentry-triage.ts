import type { MCPOptimizer } from "@mcp-optimizer/core";
import type { BenchmarkScenario, ScenarioContext } from "../scenario.js";
import { assert } from "./fixtures.js";

/**
 * The parts of @mcp-optimizer/adaptor-sentry this scenario uses, typed here so the CLI builds
 * whether or not the adaptor is installed (it is loaded at run time; `unavailable` says why not).
 */
interface SentryFixtureModule {
  startSentryFixture(options?: { issuesPerProject?: number; framesPerEvent?: number }): Promise<{
    host: string;
    token: string;
    close(): Promise<void>;
  }>;
}
interface SentryAdaptorModule {
  triageProgram(server: string): string;
  installSentrySkills(optimizer: MCPOptimizer, options?: { server?: string }): Promise<unknown>;
  SentrySkillNames: { triage: string };
}

const ADAPTOR = "@mcp-optimizer/adaptor-sentry";

async function loadAdaptor(): Promise<{
  fixture: SentryFixtureModule;
  adaptor: SentryAdaptorModule;
}> {
  const [fixture, adaptor] = await Promise.all([
    import(`${ADAPTOR}/fixture`) as Promise<SentryFixtureModule>,
    import(ADAPTOR) as Promise<SentryAdaptorModule>,
  ]);
  return { fixture, adaptor };
}

/** Markdown of `search_issues`: the issue short IDs a model reads off the list. */
function issueIds(markdown: string): string[] {
  return [...markdown.matchAll(/^## \d+\. \[([^\]]+)\]/gm)].map((m) => m[1]!);
}

/**
 * Sentry triage: the most frequent unresolved issues of a project with their top stack frame,
 * against the real Sentry MCP server talking to the adaptor's local Sentry API fixture.
 */
export const sentryTriage: BenchmarkScenario = {
  id: "sentry-triage",
  title: "Sentry triage",
  description:
    "@sentry/mcp-server against a local Sentry API: the 10 most frequent unresolved issues of a project, each with its top stack frame. Over plain MCP the model reads the issue list and every issue's full details (stack traces, breadcrumbs, tags); in code mode it finds the Sentry adaptor's triage skill by search, calls it in one line and reads only the summary.",
  async unavailable(context: ScenarioContext) {
    try {
      context.serverCommand("@sentry/mcp-server");
    } catch {
      return "@sentry/mcp-server is not installed";
    }
    try {
      await loadAdaptor();
    } catch {
      return `${ADAPTOR} is not installed (or not built)`;
    }
    return undefined;
  },
  async prepare(context) {
    const { fixture: fixtureModule, adaptor } = await loadAdaptor();
    const limit = context.quick ? 4 : 10;
    const fixture = await fixtureModule.startSentryFixture({
      issuesPerProject: context.quick ? 40 : 120,
      framesPerEvent: 40,
    });
    context.progress(`sentry-triage: Sentry API fixture on ${fixture.host}`);
    const server = context.serverCommand("@sentry/mcp-server");
    const params = { organization: "acme", project: "api-backend", period: "14d", limit };
    return {
      mcpServers: {
        sentry: {
          command: server.command,
          args: [...server.args, `--host=${fixture.host}`, "--insecure-http"],
          env: { SENTRY_ACCESS_TOKEN: fixture.token },
        },
      },
      // The adaptor's triage as a skill: the model searches, finds it, and calls it in one line
      // (before skills, it wrote the whole triage program: programBefore).
      setup: async (optimizer) => {
        await adaptor.installSentrySkills(optimizer, { server: "sentry" });
      },
      discovery: {
        query: "sentry most frequent unresolved issues with stack frames",
        expect: `skills.${adaptor.SentrySkillNames.triage}`,
      },
      program: `return await skills.${adaptor.SentrySkillNames.triage}(${JSON.stringify(params)});`,
      programBefore: `const params = ${JSON.stringify(params)};\n${adaptor.triageProgram("sentry")}`,
      async plain(client) {
        const list = await client.call("sentry", "search_issues", {
          organizationSlug: params.organization,
          projectSlugOrId: params.project,
          query: "is:unresolved",
          sort: "freq",
          limit: params.limit,
          period: params.period,
        });
        const ids = issueIds(client.text(list));
        assert(
          ids.length === params.limit,
          `plain path: expected ${params.limit} issues, read ${ids.length}`,
        );
        // One round trip asking for every issue's details, as a model does in parallel.
        await client.turn(
          ids.map((id) => ({
            server: "sentry",
            tool: "get_sentry_resource",
            args: { organizationSlug: params.organization, resourceType: "issue", resourceId: id },
          })),
        );
      },
      verify(value) {
        const issues = (
          value as { issues?: { id?: string; topFrame?: { file?: string } | null }[] }
        ).issues;
        assert(
          Array.isArray(issues) && issues.length === params.limit,
          "triage returned the wrong number of issues",
        );
        assert(
          issues.every((i) => typeof i.id === "string" && typeof i.topFrame?.file === "string"),
          "an issue lacks its top stack frame",
        );
      },
      cleanup: () => fixture.close(),
    };
  },
};
