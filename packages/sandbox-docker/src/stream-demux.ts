/**
 * Splits the stream of an attached container without a TTY into its stdout and stderr.
 * Docker frames it as: 1 byte stream id (0 stdin, 1 stdout, 2 stderr), 3 zero bytes, a
 * 4-byte big-endian length, then that many bytes. Payloads are handed on as they arrive,
 * never buffered whole, so a guest that floods its output costs no host memory here.
 */
export class StreamDemux {
  private readonly header = Buffer.alloc(8);
  private headerBytes = 0;
  private stream = 0;
  private remaining = 0;
  private failed = false;

  constructor(
    private readonly onStdout: (chunk: Buffer) => void,
    private readonly onStderr: (chunk: Buffer) => void,
    /** Called once if the stream is not multiplexed (a TTY) or lost its framing. */
    private readonly onError: (error: Error) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.failed) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.headerBytes, chunk.length - at);
        chunk.copy(this.header, this.headerBytes, at, at + take);
        this.headerBytes += take;
        at += take;
        if (this.headerBytes < 8) return;
        this.headerBytes = 0;
        this.stream = this.header[0]!;
        this.remaining = this.header.readUInt32BE(4);
        if (
          this.stream > 2 ||
          this.header[1] !== 0 ||
          this.header[2] !== 0 ||
          this.header[3] !== 0
        ) {
          this.failed = true;
          this.onError(
            new Error(
              "The container's attached stream is not multiplexed (was it created with a TTY?).",
            ),
          );
          return;
        }
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const payload = chunk.subarray(at, at + take);
      at += take;
      this.remaining -= take;
      if (this.stream === 2) this.onStderr(payload);
      else if (this.stream === 1) this.onStdout(payload);
    }
  }
}
