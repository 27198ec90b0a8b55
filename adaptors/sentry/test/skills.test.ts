import { ErrorCodes } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentryAdaptor, SentrySkillNames, sentrySkills } from "../src/index.js";
import { startSentry } from "./helpers.js";

// The read-only operations as skills, on the real Sentry MCP server against the fixture: a
// program calls them in one line, search lists them first, and installing again adds nothing.

let adaptor: SentryAdaptor;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ adaptor, close } = await startSentry());
  await adaptor.start();
}, 120_000);
afterAll(() => close());

describe("the adaptor's skills", () => {
  it("are installed once, found by search and give what the operation gives", async () => {
    const first = await adaptor.installSkills();
    expect(first.map((s) => [s.name, s.version])).toEqual([
      [SentrySkillNames.triage, 1],
      [SentrySkillNames.issueDigest, 1],
      [SentrySkillNames.releaseHealth, 1],
    ]);
    const again = await adaptor.installSkills();
    expect(again.map((s) => s.version)).toEqual([1, 1, 1]);

    const hits = await adaptor.optimizer.search("most frequent unresolved sentry issues", {
      limit: 3,
    });
    expect(hits[0]?.name).toBe(`skills.${SentrySkillNames.triage}`);

    const params = {
      organization: "acme",
      project: "api-backend",
      period: "30d" as const,
      limit: 5,
    };
    const viaSkill = await adaptor.optimizer.run(
      `return await skills.${SentrySkillNames.triage}(${JSON.stringify(params)})`,
    );
    const viaOperation = await adaptor.triage(params);
    expect(viaSkill.value).toEqual(viaOperation);
    // Defaults apply as in the operation (limit 10, period 14d).
    const defaults = await adaptor.optimizer.run(
      `return (await skills.${SentrySkillNames.triage}({ organization: "acme", project: "api-backend" })).issues.length`,
    );
    expect(defaults.value).toBe((await adaptor.triage({ project: "api-backend" })).issues.length);
  }, 120_000);

  it("check their input against the operation's schema", async () => {
    await adaptor.installSkills();
    await expect(
      adaptor.optimizer.run(
        `return await skills.${SentrySkillNames.triage}({ organization: "acme", project: "api-backend", limit: 500 })`,
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.SKILL_INVALID_INPUT });
    await expect(
      adaptor.optimizer.run(
        `return await skills.${SentrySkillNames.issueDigest}({ organization: "acme" })`,
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.SKILL_INVALID_INPUT });
  }, 60_000);

  it("call the server by the name it was given", () => {
    for (const skill of sentrySkills("errors")) {
      expect(skill.code).toContain("errors.");
      expect(skill.code).not.toContain("sentry.search_issues");
    }
  });
});
