/**
 * Plain text files and folders. `split` chooses what a document is: the whole file ("file"), each
 * blank-line separated paragraph ("paragraph"), or each line ("line"). A file larger than
 * `maxDocumentChars` is yielded in pieces cut at line ends, so one huge file never has to be in memory.
 */

import { ReaderError } from "../errors.ts";
import { listInputFiles, readLines, type Utf8Tally } from "./files.ts";

export type TextSplit = "file" | "paragraph" | "line";

export interface TextReaderOptions {
  split?: TextSplit;
  /** Folder filter, e.g. [".txt", ".md"]; default every non-hidden file. */
  extensions?: readonly string[];
  /** Longest document yielded in "file" mode (default 8M characters); longer files come in pieces. */
  maxDocumentChars?: number;
  /** Counts (or, strict, refuses) bytes that are not UTF-8. */
  utf8?: Utf8Tally;
}

/** Documents of the text file or folder at `path`. Empty documents are skipped. */
export async function* readTextDocuments(path: string, opts: TextReaderOptions = {}): AsyncGenerator<string> {
  const split = opts.split ?? "file";
  if (!["file", "paragraph", "line"].includes(split)) {
    throw new ReaderError(`text split must be "file", "paragraph" or "line", got "${split}"`);
  }
  const max = opts.maxDocumentChars ?? 8 << 20;
  for (const file of await listInputFiles(path, opts.extensions)) {
    let doc = "";
    for await (const { line } of readLines(file, opts.utf8)) {
      if (split === "line") {
        if (line.length > 0) yield line;
      } else if (split === "paragraph" && line.trim().length === 0) {
        if (doc.length > 0) yield doc;
        doc = "";
      } else {
        doc += line + "\n";
        if (doc.length >= max) {
          yield doc;
          doc = "";
        }
      }
    }
    if (doc.length > 0) yield doc;
  }
}
