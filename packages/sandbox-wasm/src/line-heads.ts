const NEWLINE = 0x0a;
const decoder = new TextDecoder();

/**
 * Splits a byte stream into lines and keeps only the start of each (at most `headBytes`), so
 * that frames can be recognised by their start without holding a large line.
 */
export class LineHeads {
  private head: Uint8Array[] = [];
  private headSize = 0;

  constructor(private readonly headBytes: number) {}

  /**
   * Feeds a chunk; calls `onLine` with the head of each line it completes. When `onLine`
   * returns true the scan stops there, and the bytes of the chunk after that line's newline
   * are counted and returned.
   */
  push(chunk: Uint8Array, onLine: (head: string) => boolean): number {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, from);
      const end = nl === -1 ? chunk.length : nl;
      const keep = Math.min(end - from, this.headBytes - this.headSize);
      if (keep > 0) {
        this.head.push(chunk.subarray(from, from + keep));
        this.headSize += keep;
      }
      if (nl === -1) return 0;
      const line = this.take();
      from = nl + 1;
      if (onLine(line)) return chunk.length - from;
    }
    return 0;
  }

  private take(): string {
    const bytes = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head, this.headSize);
    this.head = [];
    this.headSize = 0;
    return decoder.decode(bytes);
  }
}
