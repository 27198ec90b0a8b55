import { type SentryFixture, startSentryFixture } from "../src/fixture/index.js";
import {
  createSentryAdaptor,
  type SentryAdaptor,
  type SentryAdaptorOptions,
} from "../src/index.js";

/** A fixture Sentry and an adaptor whose real Sentry MCP server talks to it. */
export async function startSentry(
  options: Partial<SentryAdaptorOptions> = {},
  fixtureOptions: Parameters<typeof startSentryFixture>[0] = {},
): Promise<{ fixture: SentryFixture; adaptor: SentryAdaptor; close(): Promise<void> }> {
  const fixture = await startSentryFixture({ issuesPerProject: 120, ...fixtureOptions });
  const adaptor = createSentryAdaptor({
    accessToken: fixture.token,
    host: fixture.host,
    insecureHttp: true,
    organization: "acme",
    rateLimitRetry: { baseDelayMs: 50 },
    ...options,
  });
  return {
    fixture,
    adaptor,
    async close() {
      await adaptor.close();
      await fixture.close();
    },
  };
}

export const PERIOD_MS: Record<string, number> = {
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "14d": 14 * 86_400_000,
  "30d": 30 * 86_400_000,
  "90d": 90 * 86_400_000,
};
