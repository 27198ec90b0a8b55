import { describe, expect, test } from "vitest";
import { StreamDemux } from "../src/stream-demux.js";

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collect() {
  const out: string[] = [];
  const err: string[] = [];
  const errors: Error[] = [];
  const demux = new StreamDemux(
    (c) => out.push(c.toString()),
    (c) => err.push(c.toString()),
    (e) => errors.push(e),
  );
  return { demux, out, err, errors };
}

describe("StreamDemux", () => {
  test("splits stdout and stderr frames, several per chunk", () => {
    const { demux, out, err } = collect();
    demux.push(
      Buffer.concat([frame(1, "hello "), frame(2, "oops"), frame(1, "world"), frame(1, "")]),
    );
    expect(out.join("")).toBe("hello world");
    expect(err.join("")).toBe("oops");
  });

  test("survives every possible split, byte by byte", () => {
    const stream = Buffer.concat([
      frame(1, '{"t":"ready"}\n'),
      frame(2, "warn"),
      frame(1, "x".repeat(300)),
    ]);
    for (let cut = 1; cut < stream.length; cut++) {
      const { demux, out, err } = collect();
      demux.push(stream.subarray(0, cut));
      demux.push(stream.subarray(cut));
      expect(out.join("")).toBe(`{"t":"ready"}\n${"x".repeat(300)}`);
      expect(err.join("")).toBe("warn");
    }
    const { demux, out } = collect();
    for (const byte of stream) demux.push(Buffer.from([byte]));
    expect(out.join("")).toBe(`{"t":"ready"}\n${"x".repeat(300)}`);
  });

  test("hands payloads on as they arrive instead of buffering a whole frame", () => {
    const { demux, out } = collect();
    const big = frame(1, "y".repeat(100_000));
    demux.push(big.subarray(0, 1008));
    expect(out.join("").length).toBe(1000);
  });

  test("reports a stream that is not multiplexed once and stops", () => {
    const { demux, out, errors } = collect();
    demux.push(Buffer.from("plain text from a TTY"));
    demux.push(frame(1, "ignored"));
    expect(errors).toHaveLength(1);
    expect(out).toEqual([]);
  });
});
