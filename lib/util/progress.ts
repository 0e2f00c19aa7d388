/**
 * A progress line on stderr: done/total, percentage, rate (items/s) and ETA. On a terminal it redraws one line
 * (`\r\x1b[2K`) at most 10 times a second; otherwise (CI logs, files) it prints a plain line at most every
 * ~5 seconds, so logs stay readable. `done()` prints the final line.
 */

export interface ProgressOptions {
  /** Where text goes; defaults to stderr. */
  write?: (text: string) => void;
  /** Redraw in place; defaults to `Deno.stderr.isTerminal()`. */
  terminal?: boolean;
  /** Clock in milliseconds; defaults to `performance.now()`. */
  now?: () => number;
  /** Minimum milliseconds between redraws on a terminal (default 100, i.e. at most 10 Hz). */
  terminalIntervalMs?: number;
  /** Minimum milliseconds between plain lines off a terminal (default 5000). */
  plainIntervalMs?: number;
}

function writeStderr(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
}

/** "42s", "4m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A rate with about three significant digits. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "?";
  if (perSecond >= 100) return perSecond.toFixed(0);
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toFixed(2);
}

export class Progress {
  private readonly write: (text: string) => void;
  private readonly terminal: boolean;
  private readonly now: () => number;
  private readonly interval: number;
  private readonly start: number;
  private lastDraw = -Infinity;
  private lastDone = 0;
  private lastExtra: string | undefined;
  private finished = false;

  constructor(readonly label: string, readonly total: number, opts: ProgressOptions = {}) {
    if (!Number.isFinite(total) || total < 0) {
      throw new RangeError(`Progress total must be ≥ 0, got ${total}`);
    }
    this.write = opts.write ?? writeStderr;
    this.terminal = opts.terminal ?? Deno.stderr.isTerminal();
    this.now = opts.now ?? (() => performance.now());
    this.interval = this.terminal ? (opts.terminalIntervalMs ?? 100) : (opts.plainIntervalMs ?? 5000);
    this.start = this.now();
  }

  /** The progress text for `done` items at the current time (no control characters). */
  format(done: number, extra?: string): string {
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : NaN;
    const parts = [this.label, this.total > 0 ? `${done}/${this.total}` : `${done}`];
    if (this.total > 0) parts.push(`(${((100 * done) / this.total).toFixed(1)}%)`);
    parts.push(done > 0 && elapsed > 0 ? `${formatRate(rate)} it/s` : "– it/s");
    if (this.total > 0) {
      const left = Math.max(0, this.total - done);
      parts.push(`ETA ${left === 0 ? "0s" : rate > 0 ? formatDuration(left / rate) : "?"}`);
    }
    parts.push(`elapsed ${formatDuration(elapsed)}`);
    if (extra) parts.push(extra);
    return parts.join(" ");
  }

  /** Records progress; draws when the throttle allows. Ignored after done(). */
  update(done: number, extra?: string): void {
    if (this.finished) return;
    this.lastDone = done;
    this.lastExtra = extra;
    const t = this.now();
    if (t - this.lastDraw < this.interval) return;
    this.lastDraw = t;
    const line = this.format(done, extra);
    this.write(this.terminal ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Prints the final line (with the last updated count) and ends the progress line. */
  done(extra?: string): void {
    if (this.finished) return;
    this.finished = true;
    const line = this.format(this.lastDone, extra ?? this.lastExtra);
    this.write(this.terminal ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}
