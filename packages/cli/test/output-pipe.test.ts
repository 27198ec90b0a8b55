import { spawn } from "node:child_process";
import { describe, expect, test } from "vitest";
import { BIN, tempDir, writeServersConfig } from "./helpers.js";

describe("stdout read by a reader that stops early (`| head`)", () => {
  test("the command ends with exit 0 and no stack trace when the reader closes the pipe", async () => {
    const config = writeServersConfig(tempDir());
    const child = spawn(process.execPath, [BIN, "run", "-", "--config", config], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end('return "the result"');
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    // The reader is gone before the command writes anything, as with `| head -0`.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(code).toBe(0);
  }, 60_000);
});
