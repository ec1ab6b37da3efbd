/**
 * Term expansion, as R's `terms.formula` does it: `a*b` = `a + b + a:b`,
 * `a/b` = `a + a:b`, `(a+b)^2`, `-` removes terms, `0`/`-1` remove the
 * intercept. Random-effects terms `(expr | g)` and `(expr || g)` are split
 * off first (lme4's `findbars`), with `g1/g2` expanded to `g1 + g1:g2`.
 * @module
 */
import { deparse, type Expr, type ParsedFormula, unparen } from "./parse.ts";
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
}

/** The right-hand side of a formula (or of a random term), expanded. */
export interface TermSet {
  /** Whether the model has an intercept. */
  readonly intercept: boolean;
  /** The variables, in order of first appearance. */
  readonly variables: readonly Variable[];
  /** Terms sorted by order of interaction (main effects first), as R does. */
  readonly terms: readonly Term[];
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

interface Expansion {
  terms: number[][]; // each a sorted var-index list
  intercept: boolean | null; // explicit +1 (true) / -1 or 0 (false), null = untouched
}

const key = (t: readonly number[]) => t.join(",");

function union(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

function addTerms(into: number[][], from: readonly number[][]): void {
  const seen = new Set(into.map(key));
  for (const t of from) {
    if (!seen.has(key(t))) {
      seen.add(key(t));
      into.push(t);
    }
  }
}

class Expander {
  readonly variables: Variable[] = [];
  private readonly index = new Map<string, number>();
  constructor(private readonly src: string) {}

  fail(msg: string, pos: number): never {
    throw new FormulaError(msg, this.src, pos);
  }

  variable(e: Expr): number {
    const label = deparse(e);
    let i = this.index.get(label);
    if (i === undefined) {
      i = this.variables.length;
      this.variables.push({ label, expr: e });
      this.index.set(label, i);
    }
    return i;
  }

  expand(e: Expr): Expansion {
    switch (e.type) {
      case "paren":
        return this.expand(e.expr);
      case "name":
      case "call":
        return { terms: [[this.variable(e)]], intercept: null };
      case "number":
        if (e.value === 1) return { terms: [], intercept: true };
        if (e.value === 0) return { terms: [], intercept: false };
        return this.fail(`a number (${e.text}) cannot be a term; use I(...) for arithmetic`, e.pos);
      case "unary": {
        const inner = this.expand(e.arg);
        if (e.op === "+") return inner;
        // `-1` / `-0` and `-x` remove from an empty model: only the intercept matters.
        return { terms: [], intercept: inner.intercept === null ? null : !inner.intercept };
      }
      case "binary":
        return this.binary(e);
    }
  }

  private binary(e: Extract<Expr, { type: "binary" }>): Expansion {
    const op = e.op;
    if (op === "|" || op === "||") {
      return this.fail(
        "random-effects terms must be in parentheses, e.g. (1 | g), and added to the formula",
        e.pos,
      );
    }
    if (op === "~") return this.fail("unexpected '~'", e.pos);
    const left = this.expand(e.left);
    if (op === "^") {
      const r = unparen(e.right);
      if (r.type !== "number" || !Number.isInteger(r.value) || r.value < 1) {
        return this.fail("'^' needs a positive whole number on its right, e.g. (a + b)^2", e.pos);
      }
      let acc: number[][] = left.terms.map((t) => [...t]);
      for (let k = 1; k < r.value; k++) {
        const next: number[][] = [...acc];
        addTerms(next, cross(acc, left.terms));
        acc = next;
      }
      return { terms: acc, intercept: left.intercept };
    }
    const right = this.expand(e.right);
    switch (op) {
      case "+": {
        const terms = left.terms.map((t) => [...t]);
        addTerms(terms, right.terms);
        return { terms, intercept: right.intercept ?? left.intercept };
      }
      case "-": {
        const drop = new Set(right.terms.map(key));
        const terms = left.terms.filter((t) => !drop.has(key(t)));
        const intercept = right.intercept === null ? left.intercept : !right.intercept;
        return { terms, intercept };
      }
      case ":":
      case "%in%":
        return { terms: cross(left.terms, right.terms), intercept: null };
      case "*": {
        const terms = left.terms.map((t) => [...t]);
        addTerms(terms, right.terms);
        addTerms(terms, cross(left.terms, right.terms));
        return { terms, intercept: null };
      }
      case "/": {
        // a/b = a + (all variables of a):b
        const all = left.terms.reduce((acc, t) => union(acc, t), [] as number[]);
        const terms = left.terms.map((t) => [...t]);
        addTerms(terms, cross([all], right.terms));
        return { terms, intercept: null };
      }
    }
    return this.fail(`unsupported operator '${op}'`, e.pos);
  }
}

function cross(a: readonly number[][], b: readonly number[][]): number[][] {
  const out: number[][] = [];
  for (const tb of b) for (const ta of a) addTerms(out, [union(ta, tb)]);
  // R orders a:b products with the left factor varying fastest within each
  // right term; terms are later sorted by degree, keeping this order.
  return out;
}

/** Split `e` (a + / - chain) into fixed parts and bar terms. */
function splitBars(
  e: Expr,
  fixed: { sign: 1 | -1; expr: Expr }[],
  bars: Extract<Expr, { type: "binary" }>[],
  src: string,
  sign: 1 | -1 = 1,
): void {
  if (e.type === "binary" && (e.op === "+" || e.op === "-")) {
    splitBars(e.left, fixed, bars, src, sign);
    splitBars(e.right, fixed, bars, src, e.op === "-" ? (-sign as 1 | -1) : sign);
    return;
  }
  const inner = unparen(e);
  if (inner.type === "binary" && (inner.op === "|" || inner.op === "||")) {
    if (sign < 0) throw new FormulaError("a random-effects term cannot be subtracted", src, e.pos);
    bars.push(inner);
    return;
  }
  checkNoBars(e, src);
  fixed.push({ sign, expr: e });
}

function checkNoBars(e: Expr, src: string): void {
  switch (e.type) {
    case "binary":
      if (e.op === "|" || e.op === "||") {
        throw new FormulaError(
          "a random-effects term (… | g) must stand on its own, added with '+'",
          src,
          e.pos,
        );
      }
      checkNoBars(e.left, src);
      checkNoBars(e.right, src);
      return;
    case "paren":
      return checkNoBars(e.expr, src);
    case "unary":
      return checkNoBars(e.arg, src);
    case "call":
      return e.args.forEach((a) => checkNoBars(a, src));
    default:
      return;
  }
}

function finish(ex: Expander, exp: Expansion, defaultIntercept = true): TermSet {
  const sorted = exp.terms
    .map((vars, i) => ({ vars, i }))
    .sort((a, b) => a.vars.length - b.vars.length || a.i - b.i)
    .map(({ vars }) => ({ vars, label: vars.map((v) => ex.variables[v].label).join(":") }));
  return {
    intercept: exp.intercept ?? defaultIntercept,
    variables: ex.variables,
    terms: sorted,
  };
}

/** Expand a list of signed summands (what is left after removing bars). */
function expandSummands(
  ex: Expander,
  parts: { sign: 1 | -1; expr: Expr }[],
): Expansion {
  let acc: Expansion = { terms: [], intercept: null };
  for (const p of parts) {
    const e = ex.expand(p.expr);
    if (p.sign > 0) {
      addTerms(acc.terms, e.terms);
      if (e.intercept !== null) acc.intercept = e.intercept;
    } else {
      const drop = new Set(e.terms.map(key));
      acc = {
        terms: acc.terms.filter((t) => !drop.has(key(t))),
        intercept: e.intercept === null ? acc.intercept : !e.intercept,
      };
    }
  }
  return acc;
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
  splitBars(f.rhs, fixedParts, bars, f.text);
  const ex = new Expander(f.text);
  const fixed = finish(ex, expandSummands(ex, fixedParts));
  const random: RandomTerm[] = [];
  for (const bar of bars) {
    const lhsEx = new Expander(f.text);
    const lhs = finish(lhsEx, lhsEx.expand(bar.left));
    const text = `(${deparse(bar.left)} ${bar.op} ${deparse(bar.right)})`;
    for (const set of groupingSets(bar.right, f.text)) {
      const groupLabel = set.map(deparse).join(":");
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
