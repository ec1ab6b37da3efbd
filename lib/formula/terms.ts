/**
 * Term expansion, exactly as R's `terms.formula` (stats' model.c) does it:
 * `a*b` = `a + b + a:b`, `a/b` = `a + a:b`, `a %in% (b + c)` = `a:b:c`,
 * `(a+b)^2`, `-` removes terms, `0`/`-1` remove the intercept; terms in R's
 * order (stable sort by order of interaction), variables numbered in order of
 * first appearance with the response first. Expansion is bounded
 * ({@link MAX_TERMS}, {@link MAX_TERM_PRODUCTS}). Random-effects terms `(expr | g)` and `(expr || g)` are split
 * off first (lme4's `findbars`), with `g1/g2` expanded to `g1 + g1:g2`.
 * @module
 */
import { deparse, type Expr, exprNames, type ParsedFormula, unparen } from "./parse.ts";
import { FormulaError } from "./tokenize.ts";

/** A model variable: a column name or an expression such as `I(Days^2)`. */
export interface Variable {
  /** R's label (deparsed expression): "Days", "I(Days^2)", "log(Days + 1)". */
  readonly label: string;
  /** The expression to evaluate against the data. */
  readonly expr: Expr;
}

/** One fixed-effects term: a set of variables (indices into `variables`). */
export interface Term {
  /** Variable indices in increasing order. */
  readonly vars: readonly number[];
  /** R's term label: the variables' labels joined by ":". */
  readonly label: string;
  /**
   * The term is the response alone (`y ~ x + y`): R keeps it in `terms()` but
   * its model matrix has no columns for it ("the response appeared on the
   * right-hand side and was dropped").
   */
  readonly response?: boolean;
}

/** The right-hand side of a formula (or of a random term), expanded. */
export interface TermSet {
  /** Whether the model has an intercept. */
  readonly intercept: boolean;
  /** The variables, in order of first appearance. */
  readonly variables: readonly Variable[];
  /** Terms sorted by order of interaction (main effects first), as R does. */
  readonly terms: readonly Term[];
  /**
   * Variables that are `offset(...)` (indices into `variables`): as R's
   * `terms()`, they are no term (any term using one is dropped) and their
   * sum is added to the linear predictor.
   */
  readonly offsets?: readonly number[];
}

/** A random-effects term after expansion: `(lhs | group)`. */
export interface RandomTerm {
  /** The left side, expanded like a fixed formula (its own intercept). */
  readonly lhs: TermSet;
  /** Grouping variables; several means an interaction factor `a:b`. */
  readonly group: readonly Expr[];
  /** Grouping factor label as lme4 prints it: "Subject", "cask:batch". */
  readonly groupLabel: string;
  /** The source text of the whole bar term, for messages. */
  readonly text: string;
}

/** A whole model formula after expansion. */
export interface ModelFormula {
  /** The formula text. */
  readonly text: string;
  /** The response expression. */
  readonly response: Expr | null;
  /** The response's label. */
  readonly responseLabel: string | null;
  /** Fixed-effects terms. */
  readonly fixed: TermSet;
  /** Random-effects terms, `||` and `/` expanded. */
  readonly random: readonly RandomTerm[];
}

/**
 * The most terms an expansion may reach, in the result or on the way (R has
 * no limit and runs out of time or memory instead: `v0 * … * v15` has 65,535
 * terms). A larger expansion is refused with a {@link FormulaError}.
 */
export const MAX_TERMS = 10_000;

/** The most pairs of terms one operator (`:`, `*`, `^`) may combine. */
export const MAX_TERM_PRODUCTS = 2_000_000;

/** Number of variables in a term (bits set). */
function bitCount(t: bigint): number {
  let n = 0;
  for (; t > 0n; t &= t - 1n) n++;
  return n;
}

/** R's TrimRepeats: drop empty terms and repeats, keeping first occurrences. */
function trimRepeats(list: readonly bigint[]): bigint[] {
  const seen = new Set<bigint>();
  const out: bigint[] = [];
  for (const t of list) {
    if (t !== 0n && !seen.has(t)) (seen.add(t), out.push(t));
  }
  return out;
}

/**
 * R's `terms.formula` (stats' model.c: ExtractVars, then EncodeVars with
 * PlusTerms, InteractTerms, CrossTerms, PowerTerms, InTerms, NestTerms,
 * DeleteTerms): a term is a bit pattern over the variables, numbered in
 * order of first appearance with the response first; the intercept is
 * switched by `0`/`1` with the sign ("parity") of the enclosing deletions.
 */
class Encoder {
  readonly variables: Variable[] = [];
  private readonly index = new Map<string, number>();
  intercept = true;
  private parity = true;
  constructor(private readonly src: string) {}

  fail(msg: string, pos: number): never {
    throw new FormulaError(msg, this.src, pos);
  }

  /** Install a variable (R's InstallVar), returning its index. */
  install(e: Expr): number {
    const label = deparse(e);
    let i = this.index.get(label);
    if (i === undefined) {
      i = this.variables.length;
      this.variables.push({ label, expr: e });
      this.index.set(label, i);
    }
    return i;
  }

  /** R's ExtractVars: install the variables in order of appearance, checking the syntax. */
  extract(e: Expr): void {
    for (;;) {
      switch (e.type) {
        case "number":
          if (e.value === 0 || e.value === 1) return;
          return this.fail(
            `a number (${e.text}) cannot be a term; use I(...) for arithmetic`,
            e.pos,
          );
        case "name":
        case "call":
          this.install(e);
          return;
        case "string":
          return this.fail("a string cannot be a term", e.pos);
        case "paren":
          e = e.expr;
          continue;
        case "unary":
          if (e.op === "!") return void this.install(e);
          e = e.arg;
          continue;
        case "binary": {
          if (isCallOp(e.op)) return void this.install(e);
          if (e.op === "|" || e.op === "||") {
            return this.fail(
              "random-effects terms must be in parentheses, e.g. (1 | g), and added to the formula",
              e.pos,
            );
          }
          if (e.op === "~") return this.fail("unexpected '~'", e.pos);
          if (e.op === "^") {
            if (e.right.type !== "number") this.badPower(e.pos);
            e = e.left;
            continue;
          }
          // Left spines (a + b + c + …) without recursion.
          const rights: Expr[] = [];
          let l: Expr = e;
          while (l.type === "binary" && isChainOp(l.op)) (rights.push(l.right), l = l.left);
          this.extract(l);
          for (let k = rights.length - 1; k >= 0; k--) this.extract(rights[k]);
          return;
        }
      }
    }
  }

  private badPower(pos: number): never {
    return this.fail(
      "invalid power: '^' needs a whole number of at least 2 on its right, e.g. (a + b)^2",
      pos,
    );
  }

  checkSize(list: readonly bigint[], pos: number): void {
    if (list.length > MAX_TERMS) {
      this.fail(
        `the formula expands to more than ${MAX_TERMS.toLocaleString("en-US")} terms ` +
          "(the limit of terms a formula may have)",
        pos,
      );
    }
  }

  /** All ORs of a term of `left` with a term of `right`, left term varying slowest. */
  private products(left: readonly bigint[], right: readonly bigint[], pos: number): bigint[] {
    if (left.length * right.length > MAX_TERM_PRODUCTS) {
      this.fail(
        `the formula expands to ${left.length} × ${right.length} products of terms, more than ` +
          `the limit of ${MAX_TERM_PRODUCTS.toLocaleString("en-US")}`,
        pos,
      );
    }
    const seen = new Set<bigint>();
    const out: bigint[] = [];
    for (const l of left) {
      for (const r of right) {
        const t = l | r;
        if (!seen.has(t)) {
          seen.add(t);
          out.push(t);
          this.checkSize(out, pos);
        }
      }
    }
    return out;
  }

  /** R's EncodeVars: the expanded list of terms of `e`. */
  encode(e: Expr): bigint[] {
    switch (e.type) {
      case "number":
        // Only 0 and 1 get here (extract() refused the others).
        this.intercept = e.value === 1 ? this.parity : !this.parity;
        return [];
      case "name":
      case "call":
        return [1n << BigInt(this.install(e))];
      case "string":
        return this.fail("a string cannot be a term", e.pos);
      case "paren":
        return this.encode(e.expr);
      case "unary":
        if (e.op === "!") return [1n << BigInt(this.install(e))];
        if (e.op === "+") return this.encode(e.arg);
        return this.remove([], e.arg);
      case "binary": {
        if (isCallOp(e.op)) return [1n << BigInt(this.install(e))];
        if (e.op === "^") return this.power(e);
        const rights: Extract<Expr, { type: "binary" }>[] = [];
        let l: Expr = e;
        while (l.type === "binary" && isChainOp(l.op)) (rights.push(l), l = l.left);
        let acc = this.encode(l);
        for (let k = rights.length - 1; k >= 0; k--) acc = this.combine(acc, rights[k]);
        return acc;
      }
    }
  }

  /** Encode `e` with the parity flipped, as the right side of a deletion. */
  negated(e: Expr): bigint[] {
    this.parity = !this.parity;
    const r = this.encode(e);
    this.parity = !this.parity;
    return r;
  }

  /** Delete the terms of `right` from `left` (R's DeleteTerms). */
  private remove(left: bigint[], right: Expr): bigint[] {
    const drop = new Set(this.negated(right));
    return left.filter((t) => !drop.has(t));
  }

  /** Apply binary operator `e` to the already expanded left side `left`. */
  private combine(left: bigint[], e: Extract<Expr, { type: "binary" }>): bigint[] {
    if (e.op === "-") return this.remove(left, e.right);
    const right = this.encode(e.right);
    let out: bigint[];
    switch (e.op) {
      case "+":
        out = trimRepeats([...left, ...right]);
        break;
      case ":":
        out = this.products(left, right, e.pos);
        break;
      case "*": {
        // R appends to the left list in place: an empty left side (`1 * z`,
        // `(a - a) * z`) gives no terms at all. The same for `/`.
        if (left.length === 0) return [];
        const p = this.products(left, right, e.pos);
        out = trimRepeats([...left, ...right, ...p]);
        break;
      }
      case "%in%": {
        // Each left term nested in all right terms together: one term per left term.
        const all = right.reduce((a, t) => a | t, 0n);
        out = trimRepeats(left.map((t) => t | all));
        break;
      }
      case "/": {
        if (left.length === 0) return [];
        const all = left.reduce((a, t) => a | t, 0n);
        out = trimRepeats([...left, ...right.map((t) => t | all)]);
        break;
      }
      default:
        return this.fail(`unsupported operator '${e.op}'`, e.pos);
    }
    this.checkSize(out, e.pos);
    return out;
  }

  /** R's PowerTerms; a power beyond the point where nothing changes any more is not iterated. */
  private power(e: Extract<Expr, { type: "binary" }>): bigint[] {
    const r = e.right;
    if (r.type !== "number") return this.badPower(e.pos);
    // R's asInteger: truncation; NA (refused) outside the int range.
    const ip = Math.abs(r.value) < 2147483648 ? Math.trunc(r.value) : NaN;
    if (!(ip > 1)) return this.badPower(e.pos);
    const left = this.encode(e.left);
    let right = left;
    // Once a step changes nothing, no later step does: (x + z)^1e9 costs what (x + z)^2 does.
    // The bound on steps only guards against a cycle (not seen).
    const steps = Math.min(ip, 4 * left.length + 16);
    for (let i = 1; i < steps; i++) {
      const next = this.products(left, right, e.pos);
      if (next.length === right.length && next.every((t, k) => t === right[k])) break;
      right = next;
    }
    return right;
  }
}

/**
 * Operators that are no formula operators: R's `terms()` takes `x > 2`,
 * `a & b`, `x == "a"` as one variable each (a call, like `log(x)`).
 */
function isCallOp(op: string): boolean {
  return op === "==" || op === "!=" || op === "<" || op === "<=" || op === ">" || op === ">=" ||
    op === "&" || op === "&&";
}

/** Left-associative operators whose chains are walked without recursion. */
function isChainOp(op: string): boolean {
  return op === "+" || op === "-" || op === ":" || op === "*" || op === "/" || op === "%in%";
}

/** Split `e` (a + / - chain) into fixed parts and bar terms, in written order. */
function splitBars(
  e: Expr,
  fixed: { sign: 1 | -1; expr: Expr }[],
  bars: Extract<Expr, { type: "binary" }>[],
  src: string,
): void {
  // The chain is left-deep: walk its spine without recursion.
  const parts: { sign: 1 | -1; expr: Expr; pos: number }[] = [];
  let l: Expr = e;
  while (l.type === "binary" && (l.op === "+" || l.op === "-")) {
    parts.push({ sign: l.op === "-" ? -1 : 1, expr: l.right, pos: l.pos });
    l = l.left;
  }
  parts.push({ sign: 1, expr: l, pos: l.pos });
  for (let k = parts.length - 1; k >= 0; k--) {
    const { sign, expr } = parts[k];
    const inner = unparen(expr);
    if (inner.type === "binary" && (inner.op === "|" || inner.op === "||")) {
      if (sign < 0) {
        throw new FormulaError("a random-effects term cannot be subtracted", src, parts[k].pos);
      }
      bars.push(inner);
      continue;
    }
    if (expr !== inner && inner.type === "binary" && inner.op === "+" && hasBars(inner)) {
      // lme4's findbars/nobars: a parenthesised sum of terms such as
      // ((1 | g) + (0 + x | g)) gives its bar terms; the rest of the sum
      // stays one fixed part, in its parentheses (R's terms() of nobars()).
      if (sign < 0) {
        throw new FormulaError("a random-effects term cannot be subtracted", src, parts[k].pos);
      }
      const sub: { sign: 1 | -1; expr: Expr }[] = [];
      splitBars(inner, sub, bars, src);
      if (sub.length) {
        let rest: Expr = sub[0].sign > 0
          ? sub[0].expr
          : { type: "unary", op: "-", arg: sub[0].expr, pos: sub[0].expr.pos };
        for (const p of sub.slice(1)) {
          rest = {
            type: "binary",
            op: p.sign > 0 ? "+" : "-",
            left: rest,
            right: p.expr,
            pos: p.expr.pos,
          };
        }
        fixed.push({ sign, expr: { type: "paren", expr: rest, pos: expr.pos } });
      }
      continue;
    }
    checkNoBars(expr, src);
    fixed.push({ sign, expr });
  }
}

/** Whether a + chain has a bar term among its summands (at any depth of parentheses). */
function hasBars(e: Expr): boolean {
  const u = unparen(e);
  if (u.type !== "binary") return false;
  if (u.op === "|" || u.op === "||") return true;
  if (u.op === "+" || u.op === "-") return hasBars(u.left) || hasBars(u.right);
  return false;
}

function checkNoBars(e0: Expr, src: string): void {
  const stack: Expr[] = [e0];
  while (stack.length) {
    const e = stack.pop()!;
    switch (e.type) {
      case "binary":
        if (e.op === "|" || e.op === "||") {
          throw new FormulaError(
            "a random-effects term (… | g) must stand on its own, added with '+'",
            src,
            e.pos,
          );
        }
        stack.push(e.right, e.left);
        break;
      case "paren":
        stack.push(e.expr);
        break;
      case "unary":
        stack.push(e.arg);
        break;
        // A call's arguments are its own business: I(a | b) is a logical 'or'.
    }
  }
}

/**
 * Expand signed summands (the right side without its bar terms) as R's
 * `terms()` does, with the response (if any) as variable 0 while expanding.
 * Terms are sorted by order of interaction, stably. The response is kept as
 * a variable only when a term uses it; a term that is the response alone is
 * marked (R's model.matrix drops it with a warning).
 */
function expandParts(
  src: string,
  parts: readonly { sign: 1 | -1; expr: Expr }[],
  response: Expr | null,
): TermSet {
  const enc = new Encoder(src);
  if (response) enc.install(response);
  for (const p of parts) enc.extract(p.expr);
  let acc: bigint[] = [];
  for (const p of parts) {
    if (p.sign > 0) {
      acc = trimRepeats([...acc, ...enc.encode(p.expr)]);
      enc.checkSize(acc, p.expr.pos);
    } else {
      // DeleteTerms: the right side is encoded with the parity flipped.
      const r = new Set(enc.negated(p.expr));
      acc = acc.filter((t) => !r.has(t));
    }
  }
  let variables = enc.variables;
  let shift = 0n;
  const usesResponse = response !== null && acc.some((t) => (t & 1n) !== 0n);
  if (response && !usesResponse) (variables = variables.slice(1), shift = 1n);
  // R's terms(): a term that uses an offset(...) variable is dropped.
  const offsets: number[] = [];
  let offsetBits = 0n;
  variables.forEach((v, i) => {
    if (isOffset(v.expr)) (offsets.push(i), offsetBits |= 1n << BigInt(i));
  });
  const terms: Term[] = acc
    .map((t, i) => ({ t: t >> shift, i, n: bitCount(t) }))
    .filter(({ t }) => (t & offsetBits) === 0n)
    .sort((a, b) => a.n - b.n || a.i - b.i)
    .map(({ t }) => {
      const vars: number[] = [];
      for (let v = 0; t >> BigInt(v) > 0n; v++) if ((t >> BigInt(v)) & 1n) vars.push(v);
      const label = vars.map((v) => variables[v].label).join(":");
      return usesResponse && t === 1n ? { vars, label, response: true } : { vars, label };
    });
  return offsets.length
    ? { intercept: enc.intercept, variables, terms, offsets }
    : { intercept: enc.intercept, variables, terms };
}

/** `offset(...)`: a known part of the linear predictor (R's terms() "offset" attribute). */
function isOffset(e: Expr): boolean {
  return e.type === "call" && e.fn === "offset";
}

/**
 * R's `terms(formula, data = …)` for `.` on the right-hand side: every
 * column of the data not used on the left (all.vars of the response), in
 * the data's order, as one parenthesised sum. `.` inside a function call or
 * a random-effects term is left alone (an error when evaluated, as in R).
 *
 * @example
 * ```ts
 * import { parseFormula, deparse } from "./parse.ts";
 * import { expandDot } from "./terms.ts";
 * const f = expandDot(parseFormula("y ~ ."), ["y", "x", "g"]);
 * console.log(deparse(f.rhs)); // "(x + g)"
 * ```
 */
export function expandDot(f: ParsedFormula, columns: readonly string[]): ParsedFormula {
  const lhsVars = f.lhs ? exprNames(f.lhs, new Set<string>()) : new Set<string>();
  const rest = columns.filter((c) => !lhsVars.has(c));
  let found = false;
  const sub = (e: Expr): Expr => {
    switch (e.type) {
      case "name": {
        if (e.name !== ".") return e;
        found = true;
        if (rest.length === 0) {
          throw new FormulaError(
            "'.' stands for no column: the data has no other columns",
            f.text,
            e.pos,
          );
        }
        let sum: Expr = { type: "name", name: rest[0], pos: e.pos };
        for (const c of rest.slice(1)) {
          sum = {
            type: "binary",
            op: "+",
            left: sum,
            right: { type: "name", name: c, pos: e.pos },
            pos: e.pos,
          };
        }
        return { type: "paren", expr: sum, pos: e.pos };
      }
      case "paren": {
        const x = sub(e.expr);
        return x === e.expr ? e : { ...e, expr: x };
      }
      case "unary": {
        if (e.op === "!") return e;
        const x = sub(e.arg);
        return x === e.arg ? e : { ...e, arg: x };
      }
      case "binary": {
        if (e.op === "^") {
          const x = sub(e.left);
          return x === e.left ? e : { ...e, left: x };
        }
        if (!isChainOp(e.op)) return e;
        // Left spines without recursion.
        const spine: Extract<Expr, { type: "binary" }>[] = [];
        let l: Expr = e;
        while (l.type === "binary" && isChainOp(l.op)) (spine.push(l), l = l.left);
        let acc = sub(l);
        for (let k = spine.length - 1; k >= 0; k--) {
          const b = spine[k];
          const r = sub(b.right);
          acc = acc === b.left && r === b.right ? b : { ...b, left: acc, right: r };
        }
        return acc;
      }
      default:
        return e;
    }
  };
  const rhs = sub(f.rhs);
  return found ? { ...f, rhs } : f;
}

/** The grouping variables of a bar's right side: `g`, `a:b`, or `a/b` (expanded by the caller). */
function groupFactors(e: Expr, src: string): Expr[] {
  const u = unparen(e);
  if (u.type === "binary" && u.op === ":") {
    return [...groupFactors(u.left, src), ...groupFactors(u.right, src)];
  }
  if (u.type === "name" || u.type === "call") return [u];
  throw new FormulaError(
    "the grouping side of a random-effects term must be a factor name, a:b or a/b",
    src,
    u.pos,
  );
}

/**
 * lme4's expandSlash: `a/b` → [b:a, a] and `a/b/c` → [c:b:a, b:a, a]; the
 * interaction is labelled innermost factor first, as lme4 prints it. A plain
 * `a:b` keeps its written order.
 */
function groupingSets(e: Expr, src: string): Expr[][] {
  const u = unparen(e);
  if (u.type === "binary" && u.op === "/") {
    const outer = groupingSets(u.left, src);
    const inner = [...groupFactors(u.right, src), ...outer[0]];
    return [inner, ...outer];
  }
  return [groupFactors(u, src)];
}

/**
 * Parse-tree to model formula: response, fixed terms, random terms.
 *
 * @example
 * ```ts
 * import { parseFormula } from "./parse.ts";
 * import { expandFormula } from "./terms.ts";
 * const mf = expandFormula(parseFormula("y ~ a * b + (1 | g)"));
 * console.log(mf.fixed.terms.map((t) => t.label)); // ["a", "b", "a:b"]
 * ```
 */
export function expandFormula(f: ParsedFormula): ModelFormula {
  const fixedParts: { sign: 1 | -1; expr: Expr }[] = [];
  const bars: Extract<Expr, { type: "binary" }>[] = [];
  if (f.lhs && unparen(f.lhs).type === "number") {
    // R: the constant is one value, not a column, and model.frame() stops
    // with "variable lengths differ".
    throw new FormulaError(
      `the response is the constant ${
        deparse(f.lhs)
      }, not a variable: put a column (or an expression of columns) on the left of '~'`,
      f.text,
      f.lhs.pos,
    );
  }
  splitBars(f.rhs, fixedParts, bars, f.text);
  const fixed = expandParts(f.text, fixedParts, f.lhs);
  const random: RandomTerm[] = [];
  for (const bar of bars) {
    const lhs = expandParts(f.text, [{ sign: 1, expr: bar.left }], null);
    const text = `(${deparse(bar.left)} ${bar.op} ${deparse(bar.right)})`;
    for (const set of groupingSets(bar.right, f.text)) {
      // lme4 names a grouping factor `my group` without its backquotes
      const groupLabel = set.map((g) => (g.type === "name" ? g.name : deparse(g))).join(":");
      const group = set;
      if (bar.op === "||") {
        // lme4: (1 + x || g) = (1 | g) + (0 + x | g): one term per column group.
        if (lhs.intercept) {
          random.push({
            lhs: { intercept: true, variables: lhs.variables, terms: [] },
            group,
            groupLabel,
            text,
          });
        }
        for (const t of lhs.terms) {
          random.push({
            lhs: { intercept: false, variables: lhs.variables, terms: [t] },
            group,
            groupLabel,
            text,
          });
        }
      } else {
        random.push({ lhs, group, groupLabel, text });
      }
    }
  }
  return {
    text: f.text,
    response: f.lhs,
    responseLabel: f.lhs ? deparse(f.lhs) : null,
    fixed,
    random,
  };
}
