import { describe, expect, test } from "vitest";
import { type RejectedLine, StdioMessageBuffer } from "../src/upstream/stdio-message-buffer.js";

function reader(limit: number) {
  const rejected: RejectedLine[] = [];
  const buffer = new StdioMessageBuffer(limit, (line) => {
    rejected.push(line);
    return undefined;
  });
  const read = () => {
    const out: unknown[] = [];
    for (let m = buffer.readMessage(); m; m = buffer.readMessage()) out.push(m);
    return out;
  };
  return { buffer, rejected, read };
}

describe("StdioMessageBuffer", () => {
  test("joins a message split across chunks and splits chunks holding several", () => {
    const { buffer, read } = reader(1024);
    const a = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { x: "é".repeat(10) } });
    const b = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
    const bytes = Buffer.from(`${a}\n${b}\r\n`);
    for (let i = 0; i < bytes.length; i += 7) buffer.append(bytes.subarray(i, i + 7));
    expect(read()).toEqual([JSON.parse(a), JSON.parse(b)]);
  });

  test("skips an oversized line, reads its id from either end, and goes on", () => {
    const { buffer, rejected, read } = reader(1000);
    const last = `{"result":{"text":"${"x".repeat(5000)}","id":3},"jsonrpc":"2.0","id":42}`;
    const first = `{"jsonrpc":"2.0","id":"abc","result":{"text":"${"y".repeat(5000)}"}}`;
    const nested = `{"jsonrpc":"2.0","method":"m","params":{"a":"${"z".repeat(5000)}","id":7}}`;
    const ok = '{"jsonrpc":"2.0","id":5,"result":{}}';
    for (const line of [last, first, nested, ok]) {
      const bytes = Buffer.from(`${line}\n`);
      for (let i = 0; i < bytes.length; i += 300) buffer.append(bytes.subarray(i, i + 300));
    }
    expect(read()).toEqual([JSON.parse(ok)]);
    expect(rejected).toEqual([
      { reason: "too_large", bytes: last.length, limit: 1000, id: 42 },
      { reason: "too_large", bytes: first.length, limit: 1000, id: "abc" },
      { reason: "too_large", bytes: nested.length, limit: 1000 },
    ]);
  });

  test("a line that is not JSON, or not JSON-RPC, is handed over, not dropped", () => {
    const { buffer, rejected, read } = reader(1000);
    buffer.append(
      Buffer.from('not json\n{"id":9,"hello":1}\n\n \r\n{"jsonrpc":"2.0","id":1,"result":{}}\n'),
    );
    expect(read()).toHaveLength(1);
    expect(rejected).toEqual([
      { reason: "not_json", bytes: 8, limit: 1000 },
      { reason: "not_jsonrpc", bytes: 18, limit: 1000, id: 9 },
    ]);
  });
});
