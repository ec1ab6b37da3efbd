/**
 * Progress of a long fit: the optimizer's evaluation count and best
 * criterion so far, reported at most every half second once a fit has run
 * for two seconds (short fits print nothing). In a Jupyter kernel it is one
 * output line under the cell, updated in place (Deno's kernel sends
 * `Deno.jupyter.broadcast` messages at once, even while the fit keeps the
 * thread busy) and ending with the fit's total; in a terminal it is one line
 * on stderr, rewritten in place and cleared at the end; a caller-supplied
 * callback receives the reports instead (see `LmerControl.progress`).
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

/**
 * Where progress goes: a callback, false (nowhere), or "auto" (the notebook
 * in a Jupyter kernel, stderr in a terminal, else nowhere).
 */
export type ProgressSetting = false | "auto" | ((p: FitProgress) => void);

/** First report after this long. */
export const PROGRESS_AFTER_MS = 2000;
/** Reports at most this often. */
export const PROGRESS_EVERY_MS = 500;

/** The part of `Deno.jupyter` progress uses. */
export interface JupyterBroadcast {
  /** Send a message on the kernel's iopub channel. */
  broadcast(type: string, content: Record<string, unknown>): Promise<void> | undefined;
}

/** `Deno.jupyter` inside a Jupyter kernel (reading it elsewhere may throw). */
function jupyterKernel(): JupyterBroadcast | undefined {
  try {
    const d = (globalThis as { Deno?: { jupyter?: JupyterBroadcast } }).Deno;
    const j = d?.jupyter;
    return j && typeof j.broadcast === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

let displayCounter = 0;

/** A sink that shows one notebook output line and updates it in place. */
export function notebookSink(j: JupyterBroadcast): (p: FitProgress) => void {
  const id = `lmer-progress-${++displayCounter}-${Date.now().toString(36)}`;
  let first = true;
  return (p) => {
    const text = p.done
      ? `lmer: ${p.feval} evaluations in ${(p.elapsedMs / 1000).toFixed(1)} s, criterion ${
        p.fmin.toPrecision(10)
      }`
      : progressLine(p);
    const content = {
      data: { "text/plain": text },
      metadata: {},
      transient: { display_id: id },
    };
    // not awaited: the fit goes on; the kernel sends the message at once
    try {
      const r = j.broadcast(first ? "display_data" : "update_display_data", content);
      if (r && typeof r.catch === "function") r.catch(() => {});
    } catch {
      // no progress rather than a failed fit
    }
    first = false;
  };
}

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
    const kernel = s === "auto" ? jupyterKernel() : undefined;
    this.#terminal = s === "auto" && !kernel && stderrTerminal();
    this.#sink = typeof s === "function"
      ? s
      : kernel
      ? notebookSink(kernel)
      : this.#terminal
      ? writeLine
      : undefined;
  }

  /** Record one evaluation. */
  note(f: number): void {
    this.#feval++;
    if (f < this.#fmin) this.#fmin = f;
    if (!this.#sink) return;
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
