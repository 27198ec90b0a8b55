/**
 * The host <-> guest-thread channel, measured alone (no wasm): one round trip is the host
 * sending a frame and the thread answering one, as in a tool call. Three transports:
 *
 *   messages   postMessage both ways, the thread woken by its event loop
 *   ours       host -> thread: a MessagePort read synchronously (receiveMessageOnPort) after
 *              an Atomics.wait on a shared counter; thread -> host: postMessage (guest-worker.ts)
 *   ours+bytes the same, with frames sent as UTF-8 bytes whose buffers are transferred
 *   shared     shared-memory rings both ways: Atomics.wait in the thread, Atomics.waitAsync
 *              on the host
 *
 *   node bench/channel.ts     (BENCH_QUICK=1 for fewer round trips)
 * Results and the decision: docs/adr/0010-wasm-guests-on-worker-threads.md.
 */
import { MessageChannel, Worker } from "node:worker_threads";

const ROUND_TRIPS = process.env.BENCH_QUICK === "1" ? 2_000 : 20_000;
const RING_BYTES = 1 << 20;

const thread = `
const { parentPort, workerData, receiveMessageOnPort } = require("node:worker_threads");
const { mode, port, signal, inRing, outRing } = workerData;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
if (mode === "messages") {
  port.on("message", (m) => parentPort.postMessage(m));
} else if (mode === "ours" || mode === "ours+bytes") {
  const echo = (m) => {
    if (typeof m === "string") return parentPort.postMessage(m);
    const copy = new Uint8Array(m.length); copy.set(m);
    parentPort.postMessage(copy, [copy.buffer]);
  };
  port.on("message", function first(m) {
    port.off("message", first);
    echo(m);
    for (;;) {
      const seen = Atomics.load(signal, 0);
      const got = receiveMessageOnPort(port);
      if (got) { echo(got.message); continue; }
      Atomics.wait(signal, 0, seen);
    }
  });
} else {
  // Rings: Int32 [written, read] header, then bytes; one frame per message, length first.
  const inHead = new Int32Array(inRing, 0, 2), inBytes = new Uint8Array(inRing, 8);
  const outHead = new Int32Array(outRing, 0, 2), outBytes = new Uint8Array(outRing, 8);
  for (;;) {
    const w = Atomics.load(inHead, 0);
    if (w === Atomics.load(inHead, 1)) { Atomics.wait(inHead, 0, w); continue; }
    const r = Atomics.load(inHead, 1);
    const len = inBytes[r] | (inBytes[r + 1] << 8) | (inBytes[r + 2] << 16);
    const text = decoder.decode(inBytes.slice(r + 3, r + 3 + len));
    Atomics.store(inHead, 1, r + 3 + len === w ? 0 : r + 3 + len);
    if (r + 3 + len === w) Atomics.store(inHead, 0, 0);
    const bytes = encoder.encode(text);
    const at = Atomics.load(outHead, 0);
    outBytes[at] = bytes.length & 255; outBytes[at + 1] = (bytes.length >> 8) & 255; outBytes[at + 2] = bytes.length >> 16;
    outBytes.set(bytes, at + 3);
    Atomics.store(outHead, 0, at + 3 + bytes.length);
    Atomics.notify(outHead, 0);
  }
}
`;

type Mode = "messages" | "ours" | "ours+bytes" | "shared";

async function measure(mode: Mode, payload: string): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const inRing = new SharedArrayBuffer(8 + RING_BYTES);
  const outRing = new SharedArrayBuffer(8 + RING_BYTES);
  const worker = new Worker(thread, {
    eval: true,
    workerData: { mode, port: port2, signal, inRing, outRing },
    transferList: [port2],
  });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let roundTrip: () => Promise<unknown>;
  if (mode === "shared") {
    const inHead = new Int32Array(inRing, 0, 2);
    const inBytes = new Uint8Array(inRing, 8);
    const outHead = new Int32Array(outRing, 0, 2);
    const outBytes = new Uint8Array(outRing, 8);
    roundTrip = async () => {
      const bytes = encoder.encode(payload);
      inBytes[0] = bytes.length & 255;
      inBytes[1] = (bytes.length >> 8) & 255;
      inBytes[2] = bytes.length >> 16;
      inBytes.set(bytes, 3);
      Atomics.store(inHead, 0, 3 + bytes.length);
      Atomics.notify(inHead, 0);
      for (;;) {
        const w = Atomics.load(outHead, 0);
        if (w !== 0) {
          const len = outBytes[0]! | (outBytes[1]! << 8) | (outBytes[2]! << 16);
          const text = decoder.decode(outBytes.slice(3, 3 + len));
          Atomics.store(outHead, 0, 0);
          return text;
        }
        // biome-ignore lint/suspicious/noExplicitAny: Atomics.waitAsync is ES2024; the types here are ES2023.
        const waited = (Atomics as any).waitAsync(outHead, 0, 0);
        if (waited.async) await waited.value;
      }
    };
  } else {
    const replies: ((m: unknown) => void)[] = [];
    worker.on("message", (m) => replies.shift()?.(m));
    roundTrip = () =>
      new Promise((resolve) => {
        replies.push((m) => resolve(typeof m === "string" ? m : decoder.decode(m as Uint8Array)));
        if (mode === "ours+bytes") {
          const bytes = encoder.encode(payload);
          port1.postMessage(bytes, [bytes.buffer]);
        } else port1.postMessage(payload);
        if (mode !== "messages") {
          Atomics.add(signal, 0, 1);
          Atomics.notify(signal, 0);
        }
      });
  }
  for (let i = 0; i < 500; i++) await roundTrip();
  const t = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) await roundTrip();
  const perTrip = (performance.now() - t) / ROUND_TRIPS;
  await worker.terminate();
  port1.close();
  return perTrip;
}

console.log(`host <-> thread round trip, mean of ${ROUND_TRIPS} (ms)`);
console.log("payload      messages      ours ours+bytes    shared");
for (const size of [100, 10_000, 500_000]) {
  const payload = `{"t":"result","id":1,"ok":true,"value":"${"x".repeat(size)}"}`;
  const results: string[] = [];
  for (const mode of ["messages", "ours", "ours+bytes", "shared"] as const) {
    results.push(
      (await measure(mode, payload)).toFixed(4).padStart(mode === "ours+bytes" ? 10 : 9),
    );
  }
  console.log(`${String(size).padStart(7)} B ${results.join(" ")}`);
}
