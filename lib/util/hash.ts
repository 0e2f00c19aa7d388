/** SHA-256 digests as lowercase hex, of bytes and of files (streamed, so large files need little memory). */
import { ChiInputError } from "./errors.ts";
import { withFileErrors } from "./files.ts";
import { createHash } from "node:crypto";

/** SHA-256 of bytes or of a string's UTF-8 encoding, as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  const h = createHash("sha256");
  h.update(typeof data === "string" ? new TextEncoder().encode(data) : data);
  return h.digest("hex");
}

/** Thrown when a file to hash cannot be read; names the file. */
export class HashError extends ChiInputError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "HashError";
  }
}

/** SHA-256 and size of a file, read in chunks. A missing file or a folder is an error naming the path. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const file = await withFileErrors(
    () => Deno.open(path, { read: true }),
    (why) => new HashError(path, why),
    { verb: "open" },
  );
  const h = createHash("sha256");
  let bytes = 0;
  try {
    const info = await file.stat();
    if (!info.isFile) throw new HashError(path, "not a regular file");
    const buf = new Uint8Array(1 << 20);
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } catch (err) {
    if (err instanceof HashError) throw err;
    throw new HashError(path, `cannot read (${(err as Error).message})`);
  } finally {
    file.close();
  }
  return { sha256: h.digest("hex"), bytes };
}
