/**
 * Evaluating formula variables against data: column look-up (with a "did you
 * mean" hint), arithmetic, comparisons and logical operators inside `I()`
 * and function arguments, and the transformations R users write in
 * formulas: log (with a base), log1p, log2, log10, exp, sqrt, abs, scale
 * (with `center =`/`scale =`), poly (orthogonal or raw), factor,
 * as.numeric, offset. `scale()` and `poly()` remember their parameters so
 * that `predict()` on new data uses the training values (as R's
 * makepredictcall does).
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
  /** R's `attr(poly(x, d), "coefs")` of each orthogonal `poly(...)`, by its label. */
  readonly poly?: Map<string, { alpha: Float64Array; norm2: Float64Array }>;
}

/** A fresh, empty transformation state. */
export function newTransformState(): TransformState {
  return { scale: new Map(), poly: new Map() };
}

/**
 * A variable with several columns (R's matrix-valued variables such as
 * `poly(x, 2)`): model-matrix columns are named label + suffix,
 * `poly(x, 2)1`, `poly(x, 2)2`.
 */
export interface MatrixColumn {
  /** Discriminant. */
  readonly kind: "matrix";
  /** The columns, NaN where missing. */
  readonly columns: readonly Float64Array[];
  /** R's column names of the matrix ("1", "2", …). */
  readonly suffixes: readonly string[];
}

/** What a formula variable evaluates to: a data column or a matrix. */
export type VarColumn = Column | MatrixColumn;

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
  // the response is no suggestion for a term on the right-hand side
  const lhs = src.includes("~") ? src.slice(0, src.indexOf("~")).trim() : "";
  const hint = suggestName(name, frame.names.filter((n) => n !== lhs));
  const known = frame.names.length > 8
    ? `${frame.names.slice(0, 8).join(", ")}, …`
    : frame.names.join(", ");
  const shown = name.length > 40 ? `${name.slice(0, 37)}…` : name;
  throw new FormulaError(
    `unknown column '${shown}'` +
      (hint ? ` (did you mean '${hint}'?)` : ` (columns are: ${known})`),
    src,
    pos,
  );
}

type Value =
  | Column
  | MatrixColumn
  | { kind: "scalar"; value: number }
  | { kind: "string"; value: string }
  | { kind: "logical"; values: Float64Array } // 1, 0, NaN for NA
  | { kind: "lscalar"; value: boolean };

const UNARY_MATH: Record<string, (x: number) => number> = {
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

const SUPPORTED = "I, log, log1p, log2, log10, exp, sqrt, abs, scale, poly, factor, " +
  "as.factor, as.numeric, offset";

/** A logical vector as R's model matrix codes it: a factor with levels FALSE, TRUE. */
function logicalFactor(values: Float64Array): FactorColumn {
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    codes[i] = Number.isNaN(values[i]) ? -1 : values[i] !== 0 ? 1 : 0;
  }
  return { kind: "factor", levels: ["FALSE", "TRUE"], codes, ordered: false, logical: true };
}

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
    const c = this.variable(e);
    if (c.kind === "matrix") {
      throw new FormulaError(
        `'${deparse(e)}' has ${c.columns.length} columns; it can only be a term of the model`,
        this.src,
        e.pos,
      );
    }
    return c;
  }

  /** Evaluate a variable expression: a numeric or factor column, or a matrix (poly()). */
  variable(e: Expr): VarColumn {
    const v = this.value(e);
    const n = this.frame.nrow;
    switch (v.kind) {
      case "scalar":
        return { kind: "numeric", values: new Float64Array(n).fill(v.value) };
      case "lscalar":
        return logicalFactor(new Float64Array(n).fill(v.value ? 1 : 0));
      case "logical":
        return logicalFactor(v.values);
      case "string":
        throw new FormulaError(
          `the string ${JSON.stringify(v.value)} is not a variable`,
          this.src,
          e.pos,
        );
      default:
        return v;
    }
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

  private fail(msg: string, e: Expr): never {
    throw new FormulaError(msg, this.src, e.pos);
  }

  private value(e: Expr): Value {
    switch (e.type) {
      case "name": {
        const c = this.frame.columns.get(e.name);
        if (!c) {
          if (e.name === "pi") return { kind: "scalar", value: Math.PI };
          if (e.name === "TRUE" || e.name === "T") return { kind: "lscalar", value: true };
          if (e.name === "FALSE" || e.name === "F") return { kind: "lscalar", value: false };
          return unknownColumn(e.name, this.frame, this.src, e.pos);
        }
        if (c.kind === "factor" && c.logical) {
          // an R logical column: TRUE/FALSE values
          const values = new Float64Array(c.codes.length);
          for (let i = 0; i < values.length; i++) {
            const k = c.codes[i];
            values[i] = k < 0 ? NaN : c.levels[k] === "TRUE" ? 1 : 0;
          }
          return { kind: "logical", values };
        }
        return c;
      }
      case "number":
        return { kind: "scalar", value: e.value };
      case "string":
        return { kind: "string", value: e.value };
      case "paren":
        return this.value(e.expr);
      case "unary": {
        const a = this.value(e.arg);
        if (e.op === "!") return this.not(a, e.arg);
        return e.op === "-" ? this.map(a, (x) => -x, e) : this.map(a, (x) => x, e);
      }
      case "binary":
        if (COMPARE[e.op]) return this.compare(e);
        if (e.op === "%in%") return this.within(e);
        if (e.op === "&" || e.op === "|") return this.logic(e);
        return this.arith(e);
      case "call":
        return this.call(e);
    }
  }

  private asNumbers(v: Value, e: Expr): Float64Array | number {
    switch (v.kind) {
      case "scalar":
        return v.value;
      case "lscalar":
        return v.value ? 1 : 0;
      case "logical":
      case "numeric":
        return v.values;
      case "factor":
        return this.fail(
          `arithmetic on a factor ('${deparse(e)}'); only numeric columns can be transformed`,
          e,
        );
      case "string":
        return this.fail(`arithmetic on a string (${JSON.stringify(v.value)})`, e);
      case "matrix":
        return this.fail(`arithmetic on '${deparse(e)}', which has several columns`, e);
    }
  }

  private map(v: Value, f: (x: number) => number, e: Expr): Value {
    const a = this.asNumbers(v, e);
    if (typeof a === "number") return { kind: "scalar", value: f(a) };
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = f(a[i]);
    return { kind: "numeric", values: out };
  }

  /** Elementwise f over two operands (vectors of n or scalars). */
  private zip(
    a: Float64Array | number,
    b: Float64Array | number,
    f: (x: number, y: number) => number,
  ): Float64Array | number {
    if (typeof a === "number" && typeof b === "number") return f(a, b);
    const n = this.frame.nrow;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = f(typeof a === "number" ? a : a[i], typeof b === "number" ? b : b[i]);
    }
    return out;
  }

  private arith(e: Extract<Expr, { type: "binary" }>): Value {
    const ops: Record<string, (x: number, y: number) => number> = {
      "+": (x, y) => x + y,
      "-": (x, y) => x - y,
      "*": (x, y) => x * y,
      "/": (x, y) => x / y,
      "^": rPow,
    };
    const f = ops[e.op];
    if (!f) {
      return this.fail(
        e.op === "&&" || e.op === "||"
          ? `'${e.op}' compares single values; use '${e.op[0]}' for one value per row`
          : `operator '${e.op}' is not arithmetic here; wrap arithmetic in I(...)`,
        e,
      );
    }
    const a = this.asNumbers(this.value(e.left), e.left);
    const b = this.asNumbers(this.value(e.right), e.right);
    const r = this.zip(a, b, f);
    return typeof r === "number" ? { kind: "scalar", value: r } : { kind: "numeric", values: r };
  }

  /** Logical values (1/0/NaN) of a value: numbers are TRUE when not 0. */
  private asLogical(v: Value, e: Expr): Float64Array | number {
    const a = this.asNumbers(v, e);
    if (typeof a === "number") return Number.isNaN(a) ? NaN : a !== 0 ? 1 : 0;
    return a.map((x) => (Number.isNaN(x) ? NaN : x !== 0 ? 1 : 0));
  }

  private logical(r: Float64Array | number): Value {
    return typeof r === "number"
      ? (Number.isNaN(r)
        ? { kind: "logical", values: new Float64Array(this.frame.nrow).fill(NaN) }
        : { kind: "lscalar", value: r === 1 })
      : { kind: "logical", values: r };
  }

  private not(v: Value, e: Expr): Value {
    const a = this.asLogical(v, e);
    return this.logical(this.zip(a, 0, (x) => (Number.isNaN(x) ? NaN : 1 - x)));
  }

  /** R's & and | with NA: NA & FALSE is FALSE, NA | TRUE is TRUE. */
  private logic(e: Extract<Expr, { type: "binary" }>): Value {
    const a = this.asLogical(this.value(e.left), e.left);
    const b = this.asLogical(this.value(e.right), e.right);
    const f = e.op === "&"
      ? (
        x: number,
        y: number,
      ) => (x === 0 || y === 0 ? 0 : Number.isNaN(x) || Number.isNaN(y) ? NaN : 1)
      : (
        x: number,
        y: number,
      ) => (x === 1 || y === 1 ? 1 : Number.isNaN(x) || Number.isNaN(y) ? NaN : 0);
    return this.logical(this.zip(a, b, f));
  }

  /** Comparisons: numbers with numbers; factor labels or numbers' labels with strings. */
  private compare(e: Extract<Expr, { type: "binary" }>): Value {
    const cmp = COMPARE[e.op];
    const l = this.value(e.left), r = this.value(e.right);
    const isText = (v: Value) => v.kind === "factor" || v.kind === "string";
    if (!isText(l) && !isText(r)) {
      const a = this.asNumbers(l, e.left), b = this.asNumbers(r, e.right);
      return this.logical(
        this.zip(
          a,
          b,
          (
            x,
            y,
          ) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : cmp(x < y ? -1 : x > y ? 1 : 0) ? 1 : 0),
        ),
      );
    }
    // An ordered factor against one of its levels compares by level order (R).
    const ordinal = (f: Value, s: Value): boolean =>
      f.kind === "factor" && f.ordered && s.kind === "string" && f.levels.includes(s.value);
    const n = this.frame.nrow;
    if (e.op !== "==" && e.op !== "!=" && !ordinal(l, r) && !ordinal(r, l)) {
      if (l.kind === "factor" || r.kind === "factor") {
        return this.fail(`'${e.op}' is not meaningful for factors (R gives NA); use == or !=`, e);
      }
    }
    const rank = (v: Value, other: Value): (i: number) => string | number | null => {
      if (v.kind === "factor") {
        if (other.kind === "string" && ordinal(v, other)) {
          return (i) => (v.codes[i] < 0 ? null : v.codes[i]);
        }
        return (i) => (v.codes[i] < 0 ? null : v.levels[v.codes[i]]);
      }
      if (v.kind === "string") {
        if (other.kind === "factor" && ordinal(other, v)) {
          const k = other.levels.indexOf(v.value);
          return () => k;
        }
        return () => v.value;
      }
      const a = this.asNumbers(v, e);
      const lab = (x: number) => (Number.isNaN(x) ? null : rNumberLabel(x));
      return typeof a === "number" ? () => lab(a) : (i) => lab(a[i]);
    };
    const fl = rank(l, r), fr = rank(r, l);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = fl(i), y = fr(i);
      out[i] = x === null || y === null ? NaN : cmp(x < y ? -1 : x > y ? 1 : 0) ? 1 : 0;
    }
    return { kind: "logical", values: out };
  }

  /**
   * R's `x %in% c("a", "b")` inside a call (match of the labels; NA is in
   * the set only when NA is): a logical, as R gives.
   */
  private within(e: Extract<Expr, { type: "binary" }>): Value {
    const items = e.right.type === "call" && e.right.fn === "c" ? e.right.args : [e.right];
    const set = new Set<string>();
    for (const it of items) {
      const v = this.value(it);
      if (v.kind === "string") set.add(v.value);
      else if (v.kind === "scalar") set.add(rNumberLabel(v.value));
      else if (v.kind === "lscalar") set.add(v.value ? "TRUE" : "FALSE");
      else {
        return this.fail(
          '%in%: the right side must be constants, e.g. c("a", "b") or c(1, 2)',
          it,
        );
      }
    }
    const l = this.value(e.left);
    const n = this.frame.nrow;
    const out = new Float64Array(n);
    if (l.kind === "factor") {
      for (let i = 0; i < n; i++) {
        out[i] = l.codes[i] >= 0 && set.has(l.levels[l.codes[i]]) ? 1 : 0;
      }
    } else if (l.kind === "logical") {
      for (let i = 0; i < n; i++) {
        const x = l.values[i];
        out[i] = !Number.isNaN(x) && set.has(x ? "TRUE" : "FALSE") ? 1 : 0;
      }
    } else {
      const a = this.asNumbers(l, e.left);
      for (let i = 0; i < n; i++) {
        const x = typeof a === "number" ? a : a[i];
        out[i] = !Number.isNaN(x) && set.has(rNumberLabel(x)) ? 1 : 0;
      }
    }
    return { kind: "logical", values: out };
  }

  /**
   * Match a call's arguments to the function's formals as R does for these
   * functions: exact names first, then the positional ones in order.
   */
  private args(
    e: Extract<Expr, { type: "call" }>,
    formals: readonly string[],
    required = 1,
  ): (Expr | undefined)[] {
    const out: (Expr | undefined)[] = new Array(formals.length).fill(undefined);
    const positional: Expr[] = [];
    e.args.forEach((a, k) => {
      const nm = e.names?.[k];
      if (nm == null) return void positional.push(a);
      const j = formals.indexOf(nm);
      if (j < 0) {
        this.fail(`${e.fn}(): unknown argument '${nm}' (arguments: ${formals.join(", ")})`, a);
      }
      if (out[j]) this.fail(`${e.fn}(): argument '${nm}' given twice`, a);
      out[j] = a;
    });
    let j = 0;
    for (const a of positional) {
      while (j < formals.length && out[j]) j++;
      if (j >= formals.length) {
        this.fail(
          `${e.fn}() takes at most ${formals.length} argument${formals.length > 1 ? "s" : ""} here`,
          e,
        );
      }
      out[j++] = a;
    }
    for (let k = 0; k < required; k++) {
      if (!out[k]) this.fail(`${e.fn}(): argument '${formals[k]}' is missing`, e);
    }
    return out;
  }

  /** A number or TRUE/FALSE argument. */
  private constant(e: Expr, fn: string, what: string): number | boolean {
    const v = this.value(e);
    if (v.kind === "scalar") return v.value;
    if (v.kind === "lscalar") return v.value;
    return this.fail(`${fn}(): '${what}' must be a single number or TRUE/FALSE`, e);
  }

  private call(e: Extract<Expr, { type: "call" }>): Value {
    switch (e.fn) {
      case "I": {
        const [x] = this.args(e, ["x"]);
        return this.value(x!);
      }
      case "offset": {
        const [x] = this.args(e, ["object"]);
        return this.map(this.value(x!), (v) => v, x!);
      }
      case "log": {
        const [x, b] = this.args(e, ["x", "base"]);
        if (!b) return this.map(this.value(x!), Math.log, x!);
        const base = this.constant(b, "log", "base");
        if (typeof base !== "number") return this.fail("log(): the base must be a number", b);
        // R's logbase(): log10 and log2 for those bases, else log(x) / log(base)
        const f = base === 10
          ? Math.log10
          : base === 2
          ? Math.log2
          : (v: number) => Math.log(v) / Math.log(base);
        return this.map(this.value(x!), f, x!);
      }
      case "scale":
        return this.scale(e);
      case "poly":
        return this.poly(e);
      case "factor":
      case "as.factor": {
        const [x] = this.args(e, ["x"]);
        return this.asFactor(this.value(x!));
      }
      case "as.numeric":
      case "as.double":
      case "as.integer": {
        const [x] = this.args(e, ["x"]);
        const v = this.asNumeric(this.value(x!));
        return e.fn === "as.integer" ? this.map(v, Math.trunc, x!) : v;
      }
    }
    const math = UNARY_MATH[e.fn];
    if (math) {
      const [x] = this.args(e, ["x"]);
      return this.map(this.value(x!), math, x!);
    }
    return this.fail(`unknown function '${e.fn}()' (supported: ${SUPPORTED})`, e);
  }

  /** R's scale(x, center = TRUE, scale = TRUE) of one column. */
  private scale(e: Extract<Expr, { type: "call" }>): Value {
    const [xe, ce, se] = this.args(e, ["x", "center", "scale"]);
    const label = deparse(e);
    const x = this.asNumbers(this.value(xe!), xe!);
    if (typeof x === "number") return this.fail("scale() of a constant", e);
    const center = ce ? this.constant(ce, "scale", "center") : true;
    const scaleArg = se ? this.constant(se, "scale", "scale") : true;
    let p = this.state.scale.get(label);
    if (!p || this.learn) {
      // R's scale(): centre by the mean (ignoring NA), then divide by
      // sqrt(Σ v² / (k − 1)) of the centred values (the sd when centred).
      let c = 0;
      if (center === true) {
        let s = 0, k = 0;
        for (const v of x) if (!Number.isNaN(v)) (s += v, k++);
        c = s / k;
      } else if (typeof center === "number") c = center;
      let sc = 1;
      if (scaleArg === true) {
        let ss = 0, k = 0;
        for (const v of x) if (!Number.isNaN(v)) (ss += (v - c) ** 2, k++);
        sc = Math.sqrt(ss / Math.max(1, k - 1));
      } else if (typeof scaleArg === "number") sc = scaleArg;
      p = { center: c, scale: sc };
      if (this.learn) this.state.scale.set(label, p);
    }
    const { center: c, scale: sc } = p;
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i] - c) / sc;
    return { kind: "numeric", values: out };
  }

  /**
   * R's poly(x, degree, raw): raw powers, or orthogonal polynomials from the
   * QR of the centred Vandermonde matrix (R's algorithm: Z = Q·diag(R),
   * norm2 and alpha); new data use R's three-term recurrence with the
   * training coefficients (R's makepredictcall).
   */
  private poly(e: Extract<Expr, { type: "call" }>): Value {
    const [xe, de, re] = this.args(e, ["x", "degree", "raw"]);
    const label = deparse(e);
    const x = this.asNumbers(this.value(xe!), xe!);
    if (typeof x === "number") return this.fail("poly() of a constant", e);
    const d = de ? this.constant(de, "poly", "degree") : 1;
    if (typeof d !== "number" || !(d >= 1) || d !== Math.floor(d)) {
      return this.fail("poly(): 'degree' must be a whole number of at least 1", de ?? e);
    }
    const raw = re ? this.constant(re, "poly", "raw") : false;
    const n = x.length;
    const suffixes = Array.from({ length: d }, (_, k) => String(k + 1));
    if (raw === true || raw === 1) {
      const columns = suffixes.map((_, k) => x.map((v) => rPow(v, k + 1)));
      return { kind: "matrix", columns, suffixes };
    }
    if (x.some((v) => Number.isNaN(v))) {
      return this.fail("poly(): missing values are not allowed in 'poly'", e);
    }
    const polyState = this.state.poly ?? new Map();
    const known = polyState.get(label);
    if (known && !this.learn) {
      const { alpha, norm2 } = known;
      const Z: Float64Array[] = [new Float64Array(n).fill(1), x.map((v) => v - alpha[0])];
      for (let i = 1; i < d; i++) {
        const z = new Float64Array(n);
        for (let r = 0; r < n; r++) {
          z[r] = (x[r] - alpha[i]) * Z[i][r] - (norm2[i + 1] / norm2[i]) * Z[i - 1][r];
        }
        Z.push(z);
      }
      const columns = suffixes.map((_, k) => {
        const s = Math.sqrt(norm2[k + 2]);
        return Z[k + 1].map((v) => v / s);
      });
      return { kind: "matrix", columns, suffixes };
    }
    if (d >= new Set(x).size) {
      return this.fail("poly(): 'degree' must be less than number of unique points", e);
    }
    const { Z, alpha, norm2 } = orthoPoly(x, d);
    if (this.learn) polyState.set(label, { alpha, norm2 });
    return { kind: "matrix", columns: Z, suffixes };
  }

  private asFactor(v: Value): FactorColumn {
    if (v.kind === "factor") return v.logical ? { ...v, logical: false } : v;
    if (v.kind === "scalar") {
      return factorFromLabels(new Array(this.frame.nrow).fill(rNumberLabel(v.value)));
    }
    if (v.kind === "string") return factorFromLabels(new Array(this.frame.nrow).fill(v.value));
    if (v.kind === "lscalar") {
      return factorFromLabels(new Array(this.frame.nrow).fill(v.value ? "TRUE" : "FALSE"));
    }
    if (v.kind === "logical") {
      return factorFromLabels(
        Array.from(v.values, (x) => (Number.isNaN(x) ? null : x ? "TRUE" : "FALSE")),
      );
    }
    if (v.kind === "matrix") throw new FormulaError("factor() of a matrix", this.src, 0);
    const { levels, codes } = numericLevels(v.values);
    return { kind: "factor", levels, codes, ordered: false };
  }

  private asNumeric(v: Value): Value {
    if (v.kind === "logical") return { kind: "numeric", values: v.values };
    if (v.kind === "lscalar") return { kind: "scalar", value: v.value ? 1 : 0 };
    if (v.kind !== "factor") return v;
    // R's as.numeric(factor) gives the level codes (1-based): a classic trap, kept.
    const out = new Float64Array(v.codes.length);
    for (let i = 0; i < out.length; i++) out[i] = v.codes[i] < 0 ? NaN : v.codes[i] + 1;
    return { kind: "numeric", values: out };
  }
}

/** Comparison operators by the sign of (left − right). */
const COMPARE: Record<string, (s: number) => boolean> = {
  "==": (s) => s === 0,
  "!=": (s) => s !== 0,
  "<": (s) => s < 0,
  "<=": (s) => s <= 0,
  ">": (s) => s > 0,
  ">=": (s) => s >= 0,
};

/** R's `^`: x^2 is x*x exactly (R_pow_di for integer powers), 1^y = x^0 = 1. */
function rPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (y === 2) return x * x;
  return Math.pow(x, y);
}

/**
 * R's `poly(x, degree)` (orthogonal): Householder QR of the centred
 * Vandermonde matrix [1, x − x̄, …, (x − x̄)^d], Z = Q·diag(R) (qr.qy of
 * the diagonal), norm2 = colSums(Z²), alpha = colSums(x Z²)/norm2 + x̄,
 * columns Z[, 1..d] / sqrt(norm2).
 */
export function orthoPoly(
  x0: Float64Array,
  d: number,
): { Z: Float64Array[]; alpha: Float64Array; norm2: Float64Array } {
  const n = x0.length;
  let s = 0;
  for (const v of x0) s += v;
  const xbar = s / n;
  const x = x0.map((v) => v - xbar);
  const p = d + 1;
  const a = new Float64Array(n * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) a[j * n + i] = rPow(x[i], j);
  // Householder QR in place (LINPACK's dqrdc2 without pivoting: the
  // Vandermonde matrix has full rank when degree < number of unique points).
  const qraux = new Float64Array(p);
  for (let l = 0; l < p; l++) {
    let nrmxl = 0;
    for (let i = l; i < n; i++) nrmxl += a[l * n + i] ** 2;
    nrmxl = Math.sqrt(nrmxl);
    if (nrmxl === 0) continue;
    if (a[l * n + l] !== 0) nrmxl = Math.sign(a[l * n + l]) * nrmxl;
    const inv = 1 / nrmxl; // dscal by 1/nrmxl, as dqrdc2
    for (let i = l; i < n; i++) a[l * n + i] *= inv;
    a[l * n + l] += 1;
    for (let j = l + 1; j < p; j++) {
      let t = 0;
      for (let i = l; i < n; i++) t -= a[l * n + i] * a[j * n + i];
      t /= a[l * n + l];
      for (let i = l; i < n; i++) a[j * n + i] += t * a[l * n + i];
    }
    qraux[l] = a[l * n + l];
    a[l * n + l] = -nrmxl;
  }
  // Z = Q · diag(R): column j is R_jj e_j with the reflections applied last to first.
  const Z: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const z = new Float64Array(n);
    z[j] = a[j * n + j];
    for (let l = Math.min(p, n - 1) - 1; l >= 0; l--) {
      if (qraux[l] === 0) continue;
      const diag = a[l * n + l];
      a[l * n + l] = qraux[l];
      let t = 0;
      for (let i = l; i < n; i++) t -= a[l * n + i] * z[i];
      t /= a[l * n + l];
      for (let i = l; i < n; i++) z[i] += t * a[l * n + i];
      a[l * n + l] = diag;
    }
    Z.push(z);
  }
  const norm2 = new Float64Array(p + 1);
  norm2[0] = 1;
  const alpha = new Float64Array(d);
  for (let j = 0; j < p; j++) {
    let ss = 0, xs = 0;
    for (let i = 0; i < n; i++) {
      const z2 = Z[j][i] * Z[j][i];
      ss += z2;
      xs += x[i] * z2;
    }
    norm2[j + 1] = ss;
    if (j < d) alpha[j] = xs / ss + xbar;
  }
  const cols: Float64Array[] = [];
  for (let j = 1; j < p; j++) {
    const sq = Math.sqrt(norm2[j + 1]);
    cols.push(Z[j].map((v) => v / sq));
  }
  return { Z: cols, alpha, norm2 };
}
