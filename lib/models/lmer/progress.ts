/**
 * Progress of a long fit: the optimizer's evaluation count and best
 * criterion so far, reported at most every half second once a fit has run
 * for two seconds (short fits print nothing). In a terminal it is one line
 * on stderr, rewritten in place and cleared at the end; elsewhere (a
 * notebook, a pipe) a caller-supplied callback receives it (see
 * `LmerControl.progress`).
 * @module
 */

/** One progress report. */
export interface FitProgress {
  /** Criterion evaluations so far. */
  readonly feval: number;
  /** Lowest criterion so far. */
  readonly fmin: number;
  /** Milliseconds since the optimization started. */
  readonly elapsedMs: number;
  /** True for the last report of a fit (after the optimizer stopped). */
  readonly done: boolean;
}

/** Where progress goes: a callback, false (nowhere), or "auto" (stderr in a terminal). */
export type ProgressSetting = false | "auto" | ((p: FitProgress) => void);

/** First report after this long. */
export const PROGRESS_AFTER_MS = 2000;
/** Reports at most this often. */
export const PROGRESS_EVERY_MS = 500;

function stderrTerminal(): boolean {
  try {
    const d = (globalThis as { Deno?: typeof Deno }).Deno;
    return !!d?.stderr?.isTerminal?.();
  } catch {
    return false;
  }
}

/** One progress line, e.g. "lmer: 120 evaluations, criterion 1743.6283, 3.4 s". */
export function progressLine(p: FitProgress): string {
  return `lmer: ${p.feval} evaluations, criterion ${p.fmin.toPrecision(10)}, ${
    (p.elapsedMs / 1000).toFixed(1)
  } s`;
}

/**
 * A tracker the optimizer calls after every evaluation; it decides when to
 * report (by elapsed time only, so the fit itself is unaffected).
 */
export class ProgressTracker {
  #feval = 0;
  #fmin = Infinity;
  #last = -Infinity;
  #shown = false;
  readonly #now: () => number;
  readonly #t0: number;
  readonly #sink: ((p: FitProgress) => void) | undefined;
  readonly #terminal: boolean;

  /** `now` is the clock (milliseconds; tests pass their own). */
  constructor(setting: ProgressSetting | undefined, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#t0 = now();
    const s = setting ?? "auto";
    this.#terminal = s === "auto" && stderrTerminal();
    this.#sink = typeof s === "function" ? s : this.#terminal ? writeLine : undefined;
  }

  /** Record one evaluation. */
  note(f: number): void {
    this.#feval++;
    if (f < this.#fmin) this.#fmin = f;
    if (!this.#sink || (this.#feval & 7) !== 0) return; // look at the clock every 8 calls
    const now = this.#now() - this.#t0;
    if (now < PROGRESS_AFTER_MS || now - this.#last < PROGRESS_EVERY_MS) return;
    this.#last = now;
    this.#shown = true;
    this.#sink({ feval: this.#feval, fmin: this.#fmin, elapsedMs: now, done: false });
  }

  /** The fit is over: a last report (if any was shown), and the line cleared in a terminal. */
  finish(): void {
    if (!this.#shown || !this.#sink) return;
    const p = {
      feval: this.#feval,
      fmin: this.#fmin,
      elapsedMs: this.#now() - this.#t0,
      done: true,
    };
    if (this.#terminal) clearLine();
    else this.#sink(p);
  }
}

const enc = new TextEncoder();

function writeLine(p: FitProgress): void {
  try {
    Deno.stderr.writeSync(enc.encode(`\r${progressLine(p)}\x1b[K`));
  } catch {
    // stderr closed: no progress
  }
}

function clearLine(): void {
  try {
    Deno.stderr.writeSync(enc.encode("\r\x1b[K"));
  } catch {
    // ignore
  }
}
