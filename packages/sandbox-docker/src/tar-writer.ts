import { createReadStream } from "node:fs";

/** One entry of a root filesystem archive. */
export type TarEntry =
  | { type: "dir"; path: string; mode: number }
  | { type: "file"; path: string; mode: number; source: string; size: number }
  | { type: "data"; path: string; mode: number; data: Buffer };

const BLOCK = 512;

/**
 * Streams a POSIX ustar archive of `entries`, owned by root, for `docker import`. Files are
 * read from disk as the archive is consumed, so a 100 MB Node binary is never held whole.
 */
export async function* tarStream(entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const size = entry.type === "dir" ? 0 : entry.type === "data" ? entry.data.length : entry.size;
    yield header(entry.path, entry.mode, size, entry.type === "dir" ? "5" : "0");
    if (entry.type === "data") {
      yield entry.data;
    } else if (entry.type === "file") {
      let read = 0;
      for await (const chunk of createReadStream(entry.source)) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      // The header promised `size` bytes: a file that changed under us would corrupt the archive.
      if (read !== size) throw new Error(`${entry.source} changed size while it was archived.`);
    }
    const pad = size % BLOCK;
    if (pad !== 0) yield Buffer.alloc(BLOCK - pad);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function header(path: string, mode: number, size: number, type: "0" | "5"): Buffer {
  let name = path.replace(/^\/+/, "");
  if (type === "5" && !name.endsWith("/")) name += "/";
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a slash: prefix (155 bytes) + name (100 bytes).
    const cut = name.lastIndexOf("/", name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100) {
      throw new Error(`Path too long for a tar header: ${path}`);
    }
  }
  const buf = Buffer.alloc(BLOCK);
  buf.write(name, 0, 100, "utf8");
  octal(buf, 100, 8, mode & 0o7777);
  octal(buf, 108, 8, 0); // uid root
  octal(buf, 116, 8, 0); // gid root
  octal(buf, 124, 12, size);
  octal(buf, 136, 12, 0); // mtime: fixed, so the same inputs give the same layer
  buf.write("        ", 148, 8, "ascii"); // checksum is computed over spaces here
  buf.write(type, 156, 1, "ascii");
  buf.write("ustar\u000000", 257, 8, "ascii");
  buf.write("root", 265, 32, "ascii");
  buf.write("root", 297, 32, "ascii");
  buf.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return buf;
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "ascii");
}
