import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startPresidioServer } from "../../detector-presidio/test/helpers/presidio-server.js";
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

  test("privacy.presidio: Presidio's analyzer finds the data; its headers come from the environment and never show", async () => {
    const presidio = await startPresidioServer();
    try {
      presidio.authorization = "Bearer presidio-token-for-the-cli-test";
      const dir = tempDir("mcpo-cli-presidio-");
      writeFileSync(join(dir, "contacts.txt"), "Reach Alice Smith at alice.smith@example.com.\n");
      const config = writeServersConfig(dir, {
        privacy: {
          tokenize: ["email", "person"],
          presidio: {
            url: "${MCPO_TEST_PRESIDIO_URL}",
            headers: { authorization: "Bearer ${MCPO_TEST_PRESIDIO_TOKEN}" },
          },
        },
      });
      const r = await cli(["run", "-", "--config", config], {
        env: {
          MCPO_TEST_PRESIDIO_URL: presidio.url,
          MCPO_TEST_PRESIDIO_TOKEN: "presidio-token-for-the-cli-test",
        },
        input: `const t = await files.read_text_file({ path: ${JSON.stringify(join(dir, "contacts.txt"))} });
          return typeof t === "string" ? t : t.content;`,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("Reach [PERSON_1] at [EMAIL_1].");
      expect(r.stdout + r.stderr).not.toMatch(/alice|presidio-token/i);
      // Asked for the entity types of tokenize only.
      const asked = presidio.requests.find((q) => q.path === "/analyze");
      expect(asked?.body).toMatchObject({ entities: ["EMAIL_ADDRESS", "PERSON"], language: "en" });
    } finally {
      await presidio.close();
    }
  }, 60_000);

  test("privacy.presidio with the built-in detector's rules is a config error (exit 3)", async () => {
    const dir = tempDir("mcpo-cli-presidio-");
    const config = writeServersConfig(dir, {
      privacy: {
        tokenize: ["email"],
        rules: [{ kind: "ssn", pattern: "\\d{3}-\\d{2}-\\d{4}" }],
        presidio: { url: "http://127.0.0.1:9" },
      },
    });
    const r = await cli(["run", "-", "--config", config], { input: "return 1" });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/privacy.presidio replaces it/);
  }, 60_000);
});
