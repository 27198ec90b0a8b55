import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type AuditRecord, createRedactor, ErrorCodes, MCPOptimizer } from "../src/index.js";

// A secret with characters every encoding treats differently: quotes, backslash, slash, space,
// plus, percent and non-ASCII.
const SECRET = 'sk-"live"\\9f8e/7d6c+5b4a %tok-é';
const FORMS = ["plain", "json", "url", "form", "base64", "base64url", "hex", "HEX"];

/** Every form of the secret the test knows of, computed here, independently of the redactor. */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const out = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    encodeURIComponent(secret).toLowerCase(),
    new URLSearchParams({ t: secret }).toString().slice(2),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
  ];
  // The secret's own base64 characters at each alignment inside a longer text.
  for (const pre of ["", "a", "ab"]) {
    const b64 = Buffer.from(pre + secret).toString("base64");
    const skip = Math.ceil((pre.length * 8) / 6);
    const end = Math.floor(((pre.length + bytes.length) * 8) / 6);
    out.push(
      b64.slice(skip, end),
      Buffer.from(pre + secret)
        .toString("base64url")
        .slice(skip, end),
    );
  }
  return out;
}

function expectNoSecret(where: string, text: string): void {
  for (const form of encodings(SECRET)) {
    expect(text.includes(form), `${where} holds the secret as ${JSON.stringify(form)}`).toBe(false);
  }
}

describe("secrets never leave the host, in any common encoding", () => {
  let optimizer: MCPOptimizer;
  const audit: AuditRecord[] = [];

  beforeAll(async () => {
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: {
        leaky: {
          command: process.execPath,
          args: [fileURLToPath(new URL("./fixtures/leaky-server.mjs", import.meta.url))],
          env: { API_TOKEN: "${LEAKY_TOKEN}" },
        },
      },
      env: { ...process.env, LEAKY_TOKEN: SECRET },
      audit: { write: (r) => void audit.push(r) },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
  });

  test("the test's own encodings are real: the fixture does hand the secret out", () => {
    // Guards the test: the encodings list matches how the fixture encodes.
    const redactor = createRedactor([SECRET]);
    expect(redactor.leaks(Buffer.from(`user:${SECRET}`).toString("base64"))).toBe(true);
    expect(redactor.leaks(`x${encodeURIComponent(SECRET).toLowerCase()}y`)).toBe(true);
  });

  for (const form of FORMS) {
    test(`${form}: in a tool result, a console line, an error message and the audit trail`, async () => {
      const result = await optimizer.run(
        `const r = await leaky.leak({ form: ${JSON.stringify(form)} });
         console.log("seen:", r);
         console.error(JSON.stringify({ r }));
         let caught = null;
         try { await leaky.leak_error({ form: ${JSON.stringify(form)} }); } catch (e) { caught = e.message; }
         return { r, caught, again: [r, r].join("|") };`,
        { sessionId: `redact-${form}` },
      );
      expect(result.text).toContain("[REDACTED]");
      expectNoSecret("the result text", result.text);
      expectNoSecret("the value", JSON.stringify(result.value));
      expectNoSecret("the logs", JSON.stringify(result.logs));

      // An error the program does not catch: the rejection, its details.
      const error = await optimizer
        .run(`await leaky.leak_error({ form: ${JSON.stringify(form)} }); return 1;`, {
          sessionId: `redact-${form}`,
        })
        .then(
          () => undefined,
          (e: Error & { code?: string; details?: unknown }) => e,
        );
      expect(error?.code).toBe(ErrorCodes.TOOL_ERROR);
      expectNoSecret("the error", `${error?.message} ${JSON.stringify(error?.details)}`);

      // A program that throws the value it got.
      const thrown = await optimizer
        .run(`throw new Error("boom " + await leaky.leak({ form: ${JSON.stringify(form)} }));`)
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(thrown).toBeInstanceOf(Error);
      expectNoSecret("a thrown error", String(thrown?.message));

      expectNoSecret("the audit trail", JSON.stringify(audit));
      const record = await optimizer.sessions.get(`redact-${form}`);
      expectNoSecret("the session log", JSON.stringify(record));
    }, 30_000);
  }

  test("a secret the program computes from what it got cannot be recognised (documented limit)", async () => {
    // The guest only ever sees [REDACTED]: there is nothing left to transform.
    const result = await optimizer.run(
      `const r = await leaky.leak({ form: "plain" }); return r.split("").reverse().join("");`,
    );
    expect(String(result.value)).toContain("]DETCADER[");
  });
});
