/**
 * Evaluating formula variables against data: column look-up (with a "did you
 * mean" hint), arithmetic inside `I()` and function arguments, and the
 * transformations R users write in formulas: log, exp, sqrt, abs, scale,
 * factor. `scale()` remembers its centre and scale so that `predict()` on
 * new data uses the training values (as R's makepredictcall does).
 * @module
 */
import type { Column, FactorColumn, Frame } from "../data/frame.ts";
import { factorFromLabels } from "../data/frame.ts";
import { numericLevels, rNumberLabel } from "../data/factor.ts";
import { deparse, type Expr } from "./parse.ts";
import { FormulaError } from "./tokenize.ts";

/** Remembered parameters of data-dependent transformations (by expression label). */
export interface TransformState {
  /** Centre and scale of each `scale(...)` expression, by its label. */
  readonly scale: Map<string, { center: number; scale: number }>;
}

/** A fresh, empty transformation state. */
export function newTransformState(): TransformState {
  return { scale: new Map() };
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
    }
  }
  return d[a.length][b.length];
}

/** The closest column name, if any is close enough to be a likely typo. */
export function suggestName(name: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const n of names) {
    const dist = editDistance(name, n);
    if (dist < bestD) (bestD = dist, best = n);
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** Error for a name that is not a column of the data. */
export function unknownColumn(name: string, frame: Frame, src: string, pos: number): never {
  const hint = suggestName(name, frame.names);
  const known = frame.names.length > 8
    ? `${frame.names.slice(0, 8).join(", ")}, …`
    : frame.names.join(", ");
  throw new FormulaError(
    `unknown column '${name}'` +
      (hint ? ` (did you mean '${hint}'?)` : ` (columns are: ${known})`),
    src,
    pos,
  );
}

type Value = Column | { kind: "scalar"; value: number };

const UNARY_MATH: Record<string, (x: number) => number> = {
  log: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  log1p: Math.log1p,
  exp: Math.exp,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
};

/** Evaluates formula variables against one frame. */
export class Evaluator {
  constructor(
    private readonly frame: Frame,
    private readonly src: string,
    private readonly state: TransformState,
    /** true at fit time (learn scale parameters), false when predicting. */
    private readonly learn: boolean,
  ) {}

  /** Evaluate a variable expression to a numeric or factor column. */
  column(e: Expr): Column {
    const v = this.value(e);
    if (v.kind === "scalar") {
      const values = new Float64Array(this.frame.nrow).fill(v.value);
      return { kind: "numeric", values };
    }
    return v;
  }

  /** Evaluate to numbers; factors are an error naming the expression. */
  numeric(e: Expr, what: string): Float64Array {
    const c = this.column(e);
    if (c.kind !== "numeric") {
      throw new FormulaError(
        `${what} '${deparse(e)}' is not numeric (it is a factor)`,
        this.src,
        e.pos,
      );
    }
    return c.values;
  }

  private value(e: Expr): Value {
    switch (e.type) {
      case "name": {
        const c = this.frame.columns.get(e.name);
        if (!c) {
          if (e.name === "pi") return { kind: "scalar", value: Math.PI };
          return unknownColumn(e.name, this.frame, this.src, e.pos);
        }
        return c;
      }
      case "number":
        return { kind: "scalar", value: e.value };
      case "paren":
        return this.value(e.expr);
      case "unary": {
        const a = this.value(e.arg);
        return e.op === "-" ? this.map(a, (x) => -x, e) : a;
      }
      case "binary":
        return this.arith(e);
      case "call":
        return this.call(e);
    }
  }

  private asNumbers(v: Value, e: Expr): Float64Array | number {
    if (v.kind === "scalar") return v.value;
    if (v.kind === "factor") {
      throw new FormulaError(
        `arithmetic on a factor ('${deparse(e)}'); only numeric columns can be transformed`,
        this.src,
        e.pos,
      );
    }
    return v.values;
  }

  private map(v: Value, f: (x: number) => number, e: Expr): Value {
    const a = this.asNumbers(v, e);
    if (typeof a === "number") return { kind: "scalar", value: f(a) };
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = f(a[i]);
    return { kind: "numeric", values: out };
  }

  private arith(e: Extract<Expr, { type: "binary" }>): Value {
    const ops: Record<string, (x: number, y: number) => number> = {
      "+": (x, y) => x + y,
      "-": (x, y) => x - y,
      "*": (x, y) => x * y,
      "/": (x, y) => x / y,
      "^": (x, y) => Math.pow(x, y),
    };
    const f = ops[e.op];
    if (!f) {
      throw new FormulaError(
        `operator '${e.op}' is not arithmetic here; wrap arithmetic in I(...)`,
        this.src,
        e.pos,
      );
    }
    const a = this.asNumbers(this.value(e.left), e.left);
    const b = this.asNumbers(this.value(e.right), e.right);
    if (typeof a === "number" && typeof b === "number") return { kind: "scalar", value: f(a, b) };
    const n = this.frame.nrow;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = f(typeof a === "number" ? a : a[i], typeof b === "number" ? b : b[i]);
    }
    return { kind: "numeric", values: out };
  }

  private call(e: Extract<Expr, { type: "call" }>): Value {
    const nargs = (k: number) => {
      if (e.args.length !== k) {
        throw new FormulaError(
          `${e.fn}() takes ${k} argument${k > 1 ? "s" : ""} here`,
          this.src,
          e.pos,
        );
      }
    };
    if (e.fn === "I") {
      nargs(1);
      return this.value(e.args[0]);
    }
    if (e.fn === "log" && e.args.length === 2) {
      const base = this.asNumbers(this.value(e.args[1]), e.args[1]);
      if (typeof base !== "number") {
        throw new FormulaError("log(): the base must be a number", this.src, e.pos);
      }
      return this.map(this.value(e.args[0]), (x) => Math.log(x) / Math.log(base), e);
    }
    const math = UNARY_MATH[e.fn];
    if (math) {
      nargs(1);
      return this.map(this.value(e.args[0]), math, e.args[0]);
    }
    switch (e.fn) {
      case "scale":
        nargs(1);
        return this.scale(e);
      case "factor":
      case "as.factor":
        nargs(1);
        return this.asFactor(this.value(e.args[0]));
      case "as.numeric":
      case "as.double":
        nargs(1);
        return this.asNumeric(this.value(e.args[0]));
    }
    throw new FormulaError(
      `unknown function '${e.fn}()' (supported: I, log, exp, sqrt, abs, scale, factor, …)`,
      this.src,
      e.pos,
    );
  }

  private scale(e: Extract<Expr, { type: "call" }>): Value {
    const label = deparse(e);
    const x = this.asNumbers(this.value(e.args[0]), e.args[0]);
    if (typeof x === "number") throw new FormulaError("scale() of a constant", this.src, e.pos);
    let p = this.state.scale.get(label);
    if (!p || this.learn) {
      // R's scale(): centre by the mean, divide by the sd (n - 1), ignoring NA.
      let s = 0, k = 0;
      for (const v of x) if (!Number.isNaN(v)) (s += v, k++);
      const center = s / k;
      let ss = 0;
      for (const v of x) if (!Number.isNaN(v)) ss += (v - center) ** 2;
      p = { center, scale: Math.sqrt(ss / (k - 1)) };
      if (this.learn) this.state.scale.set(label, p);
    }
    const { center, scale } = p;
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i] - center) / scale;
    return { kind: "numeric", values: out };
  }

  private asFactor(v: Value): FactorColumn {
    if (v.kind === "factor") return v;
    if (v.kind === "scalar") {
      return factorFromLabels(new Array(this.frame.nrow).fill(rNumberLabel(v.value)));
    }
    const { levels, codes } = numericLevels(v.values);
    return { kind: "factor", levels, codes, ordered: false };
  }

  private asNumeric(v: Value): Value {
    if (v.kind !== "factor") return v;
    // R's as.numeric(factor) gives the level codes (1-based): a classic trap, kept.
    const out = new Float64Array(v.codes.length);
    for (let i = 0; i < out.length; i++) out[i] = v.codes[i] < 0 ? NaN : v.codes[i] + 1;
    return { kind: "numeric", values: out };
  }
}
