import { ErrorCodes, OptimizerError } from "../errors.js";

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line.
 * A line over the limit is reported once as SANDBOX_OUTPUT_LIMIT and the decoder stops.
 */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private failed = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onError: (error: OptimizerError) => void,
  ) {}

  push(chunk: Uint8Array | string): void {
    if (this.failed) return;
    let buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk);
    for (;;) {
      const nl = buf.indexOf(NEWLINE);
      const piece = nl === -1 ? buf : buf.subarray(0, nl);
      if (this.size + piece.length > this.maxLineBytes) {
        this.failed = true;
        this.parts = [];
        this.onError(
          new OptimizerError(
            ErrorCodes.SANDBOX_OUTPUT_LIMIT,
            `The sandbox sent a message over ${formatBytes(this.maxLineBytes)}. Return less: filter, aggregate or slice the data in code and return only what is needed.`,
            { details: { limitBytes: this.maxLineBytes } },
          ),
        );
        return;
      }
      if (nl === -1) {
        if (piece.length > 0) {
          this.parts.push(piece);
          this.size += piece.length;
        }
        return;
      }
      this.parts.push(piece);
      const line = Buffer.concat(this.parts, this.size + piece.length).toString("utf8");
      this.parts = [];
      this.size = 0;
      buf = buf.subarray(nl + 1);
      if (line.trim().length > 0) this.onLine(line);
      if (this.failed) return;
    }
  }

  /** Bytes held of an unfinished line. */
  get pending(): number {
    return this.size;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, "")} KB`;
  return `${bytes} bytes`;
}
