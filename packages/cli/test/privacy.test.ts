import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, tempDir, writeServersConfig } from "./helpers.js";

describe("privacy settings from the config", () => {
  test("run: personal data in a result comes back as tokens; the vault key never shows", async () => {
    const dir = tempDir("mcpo-cli-privacy-");
    writeFileSync(
      join(dir, "contacts.txt"),
      "Reach Dana at dana.lee@example.com or +1 212 555 0123.\n",
    );
    const config = writeServersConfig(dir, {
      privacy: { tokenize: ["email", "phone"], vaultKey: "${MCPO_TEST_VAULT_KEY}" },
    });
    const r = await cli(["run", "-", "--config", config], {
      env: { MCPO_TEST_VAULT_KEY: "vault-key-for-the-cli-test-0001" },
      input: `const t = await files.read_text_file({ path: ${JSON.stringify(join(dir, "contacts.txt"))} });
        return typeof t === "string" ? t : t.content;`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("[EMAIL_1]");
    expect(r.stdout).toContain("[PHONE_1]");
    expect(r.stdout + r.stderr).not.toContain("dana.lee@example.com");
    expect(r.stdout + r.stderr).not.toContain("vault-key-for-the-cli-test-0001");
  }, 60_000);

  test("a kind the detector does not know is a config error naming it (exit 3)", async () => {
    const dir = tempDir("mcpo-cli-privacy-");
    const config = writeServersConfig(dir, { privacy: { tokenize: ["passport"] } });
    const r = await cli(["run", "-", "--config", config], { input: "return 1" });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/passport/);
  }, 60_000);
});
