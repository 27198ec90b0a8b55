import { type FileHandle, mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type AuditRecord, type AuditSink, ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { type AuditRedactionOptions, createAuditRedaction } from "./audit-redaction.js";

export interface FileAuditSinkOptions extends AuditRedactionOptions {
  /** The JSON-lines file to append to; rotated files are `<path>.1` (newest) to `<path>.<maxFiles>`. Required. */
  path: string;
  /** Rotate before the file would pass this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** Rotated files kept beside the current one; older ones are deleted. Default 5. */
  maxFiles?: number;
  /** File mode of new files. Default 0o600: an audit trail is not for every local user. */
  mode?: number;
  /** Told about a failed write (the sink never throws into the engine). Default: one process warning per distinct error. */
  onError?: (error: Error) => void;
}

/**
 * Appends one JSON line per audit record (execution or tool call) to a file, rotating by
 * size. Writes are queued and batched off the caller's path; `flush()` waits for them.
 * One writer per file: two processes must not share a path.
 */
export class FileAuditSink implements AuditSink {
  private readonly redact: (record: AuditRecord) => AuditRecord;
  private readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private pending: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private handle: FileHandle | undefined;
  private size = 0;
  private closed = false;
  private readonly reported = new Set<string>();

  constructor(private readonly options: FileAuditSinkOptions) {
    if (typeof options.path !== "string" || options.path.length === 0) {
      throw new OptimizerError(ErrorCodes.INVALID_CONFIG, "audit file path is required.");
    }
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 5;
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < 1024) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `audit file maxBytes is an integer >= 1024; got ${this.maxBytes}.`,
      );
    }
    if (!Number.isInteger(this.maxFiles) || this.maxFiles < 0 || this.maxFiles > 1000) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `audit file maxFiles is an integer from 0 to 1000; got ${this.maxFiles}.`,
      );
    }
    this.path = options.path;
    this.redact = createAuditRedaction(options);
  }

  write(record: AuditRecord): void {
    if (this.closed) {
      this.report(new Error("audit record written after close(); dropped"));
      return;
    }
    let line: string;
    try {
      line = `${JSON.stringify(this.redact(record))}\n`;
    } catch (error) {
      this.report(error as Error);
      return;
    }
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      this.chain = this.chain.then(() => this.drain());
    }
  }

  /** Resolves once every record written so far is in the file. */
  async flush(): Promise<void> {
    while (this.scheduled) await this.chain;
    await this.chain;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch((error: Error) => this.report(error));
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    const lines = this.pending;
    this.pending = [];
    try {
      if (!this.handle) await this.openFile();
      let chunk = "";
      let chunkBytes = 0;
      for (const line of lines) {
        const bytes = Buffer.byteLength(line);
        if (this.size + chunkBytes > 0 && this.size + chunkBytes + bytes > this.maxBytes) {
          if (chunk) await this.append(chunk, chunkBytes);
          chunk = "";
          chunkBytes = 0;
          await this.rotate();
        }
        chunk += line;
        chunkBytes += bytes;
      }
      if (chunk) await this.append(chunk, chunkBytes);
    } catch (error) {
      this.report(error as Error);
      // A broken handle (file deleted, disk full) is reopened on the next batch.
      await this.handle?.close().catch(() => {});
      this.handle = undefined;
    }
  }

  private async openFile(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, "a", this.options.mode ?? 0o600);
    this.size = (await this.handle.stat()).size;
  }

  private async append(chunk: string, bytes: number): Promise<void> {
    await this.handle!.appendFile(chunk);
    this.size += bytes;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    if (this.maxFiles === 0) {
      await unlink(this.path).catch(ignoreMissing);
    } else {
      // Renaming onto the last slot replaces the oldest file.
      for (let i = this.maxFiles - 1; i >= 1; i--) {
        await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(ignoreMissing);
      }
      await rename(this.path, `${this.path}.1`).catch(ignoreMissing);
    }
    await this.openFile();
  }

  private report(error: Error): void {
    if (this.options.onError) {
      try {
        this.options.onError(error);
      } catch {}
      return;
    }
    if (this.reported.has(error.message)) return;
    this.reported.add(error.message);
    process.emitWarning(`audit file ${this.path}: ${error.message}`, "McpOptimizerAuditWarning");
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== "ENOENT") throw error;
}

/** The audit file sink: `createFileAuditSink({ path: "/var/log/mcp-optimizer/audit.jsonl" })`. */
export function createFileAuditSink(options: FileAuditSinkOptions): FileAuditSink {
  return new FileAuditSink(options);
}

/** Reads an audit file and its rotated siblings back, oldest record first. */
export async function readAuditFile(path: string): Promise<AuditRecord[]> {
  const base = basename(path);
  const rotated = (await readdir(dirname(path)).catch(() => [] as string[]))
    .map((name) => ({
      name,
      n: name.startsWith(`${base}.`) ? Number(name.slice(base.length + 1)) : Number.NaN,
    }))
    .filter((f) => Number.isInteger(f.n) && f.n > 0)
    .sort((a, b) => b.n - a.n)
    .map((f) => join(dirname(path), f.name));
  const records: AuditRecord[] = [];
  for (const file of [...rotated, path]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n"))
      if (line.trim()) records.push(JSON.parse(line) as AuditRecord);
  }
  return records;
}
