/**
 * Recursive-descent parser for R/lme4 formulas, with R's operator precedence
 * (lowest first): `~`, `|` `||`, `&` `&&`, `!`, comparisons (`==` `!=` `<`
 * `<=` `>` `>=`), `+` `-`, `*` `/`, `%in%`, `:`, unary `+ -`, `^`. Because `|` binds more loosely than `+`, `(1 + x | g)` is
 * `(1 + x) | g`, as in R.
 * @module
 */
import { FormulaError, type Token, tokenize } from "./tokenize.ts";

/** A node of the formula syntax tree; `pos` is the 1-based column. */
export type Expr =
  | { readonly type: "name"; readonly name: string; readonly pos: number }
  | { readonly type: "number"; readonly value: number; readonly text: string; readonly pos: number }
  | { readonly type: "string"; readonly value: string; readonly pos: number }
  | {
    readonly type: "call";
    readonly fn: string;
    readonly args: readonly Expr[];
    /** Argument names (`scale(x, center = FALSE)`): null for positional ones; absent when none is named. */
    readonly names?: readonly (string | null)[];
    readonly pos: number;
  }
  | {
    readonly type: "binary";
    readonly op: string;
    readonly left: Expr;
    readonly right: Expr;
    readonly pos: number;
  }
  | { readonly type: "unary"; readonly op: string; readonly arg: Expr; readonly pos: number }
  | { readonly type: "paren"; readonly expr: Expr; readonly pos: number };

/** A parsed two-sided (or one-sided) formula. */
export interface ParsedFormula {
  /** The formula text. */
  readonly text: string;
  /** The left side (response), null for a one-sided formula. */
  readonly lhs: Expr | null;
  /** The right side. */
  readonly rhs: Expr;
}

const LEVELS: readonly (readonly string[])[] = [
  ["|", "||"],
  ["&", "&&"],
  ["!"], // prefix `!` (see binary())
  ["==", "!=", "<", "<=", ">", ">="],
  ["+", "-"],
  ["*", "/"],
  ["%in%"],
  [":"],
];

/** The level of prefix `!` in {@link LEVELS}. */
const NOT_LEVEL = LEVELS.findIndex((l) => l[0] === "!");

/**
 * The deepest formula accepted: levels of nesting of the syntax tree, where
 * each parenthesis, function call, sign, `^` and each operator of a chain
 * such as `a + b + c` counts one. Deeper input is refused with a
 * {@link FormulaError} (R's own parser and `terms()` fail on such input too,
 * with a stack overflow).
 */
export const MAX_FORMULA_DEPTH = 500;

class Parser {
  private i = 0;
  private nest = 0;
  private readonly depth = new WeakMap<Expr, number>();
  constructor(private readonly toks: Token[], private readonly src: string) {}

  /** Record a node's depth (1 + its deepest child) and refuse too deep trees. */
  private mk<E extends Expr>(e: E, children: readonly Expr[]): E {
    let d = 0;
    for (const c of children) d = Math.max(d, this.depth.get(c) ?? 1);
    if (d + 1 > MAX_FORMULA_DEPTH) this.tooDeep(e.pos);
    this.depth.set(e, d + 1);
    return e;
  }
  private tooDeep(pos: number): never {
    return this.fail(
      `formula nested too deeply: more than ${MAX_FORMULA_DEPTH} levels ` +
        "(each parenthesis, function call, sign and chained operator counts one)",
      pos,
    );
  }
  /** Enter a nested parse (parenthesis, call argument, sign, exponent). */
  private enter(pos: number): void {
    if (++this.nest > MAX_FORMULA_DEPTH) this.tooDeep(pos);
  }

  private peek(): Token {
    return this.toks[this.i];
  }
  private next(): Token {
    return this.toks[this.i++];
  }
  private fail(msg: string, pos: number): never {
    throw new FormulaError(msg, this.src, pos);
  }

  parseFormula(): ParsedFormula {
    let lhs: Expr | null = null;
    if (!(this.peek().kind === "op" && this.peek().text === "~")) {
      lhs = this.binary(0);
    }
    const tilde = this.peek();
    if (!(tilde.kind === "op" && tilde.text === "~")) {
      this.fail(
        tilde.kind === "end" ? "missing '~' (write e.g. 'y ~ x')" : `unexpected '${tilde.text}'`,
        tilde.pos,
      );
    }
    this.next();
    if (this.peek().kind === "end") this.fail("nothing on the right of '~'", this.peek().pos);
    const rhs = this.binary(0);
    const t = this.peek();
    if (t.kind === "rparen") this.fail("unbalanced parenthesis", t.pos);
    if (t.kind === "op" && t.text === "~") this.fail("a formula has only one '~'", t.pos);
    if (t.kind !== "end") this.fail(`unexpected '${t.text}'`, t.pos);
    return { text: this.src, lhs, rhs };
  }

  private binary(level: number): Expr {
    if (level >= LEVELS.length) return this.unary();
    if (LEVELS[level][0] === "!") {
      // R's `!` binds more loosely than comparisons: !x == y is !(x == y).
      const t = this.peek();
      if (t.kind === "op" && t.text === "!") {
        this.next();
        this.enter(t.pos);
        const arg = this.binary(level);
        this.nest--;
        return this.mk({ type: "unary", op: "!", arg, pos: t.pos }, [arg]);
      }
      return this.binary(level + 1);
    }
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || !LEVELS[level].includes(t.text)) return left;
      this.next();
      const right = this.binary(level + 1);
      left = this.mk({ type: "binary", op: t.text, left, right, pos: t.pos }, [left, right]);
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === "op" && t.text === "!") {
      // R: a `!` where an operand stands takes the rest at its own (low)
      // precedence: x + !b + z is x + !(b + z).
      this.next();
      this.enter(t.pos);
      const arg = this.binary(NOT_LEVEL);
      this.nest--;
      return this.mk({ type: "unary", op: "!", arg, pos: t.pos }, [arg]);
    }
    if (t.kind === "op" && (t.text === "-" || t.text === "+")) {
      this.next();
      this.enter(t.pos);
      const arg = this.unary();
      this.nest--;
      return this.mk({ type: "unary", op: t.text, arg, pos: t.pos }, [arg]);
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.primary();
    const t = this.peek();
    if (t.kind === "op" && t.text === "^") {
      this.next();
      // Right-associative, and the exponent may carry a unary sign.
      this.enter(t.pos);
      const exp = this.unary();
      this.nest--;
      return this.mk({ type: "binary", op: "^", left: base, right: exp, pos: t.pos }, [base, exp]);
    }
    return base;
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case "number":
        return { type: "number", value: Number(t.text), text: t.text, pos: t.pos };
      case "string":
        return { type: "string", value: t.text, pos: t.pos };
      case "name": {
        if (this.peek().kind === "lparen") {
          const open = this.next();
          const args: Expr[] = [];
          const names: (string | null)[] = [];
          if (this.peek().kind !== "rparen") {
            for (;;) {
              if (this.peek().kind === "end") this.fail("unbalanced parenthesis", open.pos);
              // a named argument: name = value
              const a = this.toks[this.i], eq = this.toks[this.i + 1];
              if (
                (a.kind === "name" || a.kind === "string") && eq?.kind === "op" && eq.text === "="
              ) {
                names.push(a.text);
                this.i += 2;
              } else names.push(null);
              this.enter(open.pos);
              args.push(this.binary(0));
              this.nest--;
              if (this.peek().kind === "comma") {
                this.next();
                continue;
              }
              break;
            }
          }
          const close = this.next();
          if (close.kind !== "rparen") {
            this.fail(
              close.kind === "end" ? "unbalanced parenthesis" : `unexpected '${close.text}'`,
              close.kind === "end" ? open.pos : close.pos,
            );
          }
          const call: Expr = names.some((x) => x !== null)
            ? { type: "call", fn: t.text, args, names, pos: t.pos }
            : { type: "call", fn: t.text, args, pos: t.pos };
          return this.mk(call, args);
        }
        return { type: "name", name: t.text, pos: t.pos };
      }
      case "lparen": {
        if (this.peek().kind === "rparen") this.fail("empty parentheses", t.pos);
        this.enter(t.pos);
        const inner = this.binary(0);
        this.nest--;
        const close = this.next();
        if (close.kind !== "rparen") {
          this.fail(
            close.kind === "end" ? "unbalanced parenthesis" : `unexpected '${close.text}'`,
            close.kind === "end" ? t.pos : close.pos,
          );
        }
        return this.mk({ type: "paren", expr: inner, pos: t.pos }, [inner]);
      }
      case "rparen": {
        // say what is missing before this ')' when the previous token shows it
        const prev = this.toks[this.i - 2];
        if (prev?.kind === "op") {
          return this.fail(
            `nothing after '${prev.text}'` +
              (prev.text === "|" || prev.text === "||"
                ? " (a random-effects term needs a grouping factor, as in (1 | g))"
                : ""),
            t.pos,
          );
        }
        if (prev?.kind === "comma") return this.fail("empty argument after ','", t.pos);
        return this.fail("unbalanced parenthesis", t.pos);
      }
      case "end":
        return this.fail("formula ends too early", t.pos);
      default:
        return this.fail(`unexpected '${t.text}'`, t.pos);
    }
  }
}

/**
 * Parse an R model formula into a syntax tree.
 *
 * @example
 * ```ts
 * import { parseFormula } from "./parse.ts";
 * const f = parseFormula("Reaction ~ Days + (Days | Subject)");
 * console.log(f.rhs.type); // "binary"
 * ```
 */
export function parseFormula(src: string): ParsedFormula {
  if (typeof src !== "string") throw new TypeError("formula must be a string such as 'y ~ x'");
  return new Parser(tokenize(src), src).parseFormula();
}

/** Strip any number of redundant parentheses. */
export function unparen(e: Expr): Expr {
  while (e.type === "paren") e = e.expr;
  return e;
}

/**
 * R's `deparse()` of an expression, used for column names such as
 * `I(Days^2)` and `log(Days + 1)`: spaces around `+ - * ~ | %in%`, none
 * around `/ ^ :`.
 */
export function deparse(e: Expr): string {
  switch (e.type) {
    case "name":
      return deparseName(e.name);
    case "number":
      return deparseNumber(e.value);
    case "string":
      return JSON.stringify(e.value);
    case "call":
      return `${e.fn}(${
        e.args.map((a, k) => {
          const nm = e.names?.[k];
          return nm == null ? deparse(a) : `${deparseName(nm)} = ${deparse(a)}`;
        }).join(", ")
      })`;
    case "paren":
      return `(${deparse(e.expr)})`;
    case "unary":
      return `${e.op}${deparse(e.arg)}`;
    case "binary": {
      const tight = e.op === "/" || e.op === "^" || e.op === ":";
      const sep = tight ? e.op : ` ${e.op} `;
      return `${deparse(e.left)}${sep}${deparse(e.right)}`;
    }
  }
}

const RESERVED = new Set([
  "if",
  "else",
  "repeat",
  "while",
  "function",
  "for",
  "next",
  "break",
  "in",
]);

/**
 * R's deparse of a name: as is when syntactic (letters of any script, as R
 * in a UTF-8 locale, digits, '.', '_'), else in backquotes: `` `my var` ``.
 */
export function deparseName(name: string): string {
  const ok = /^(?:[\p{L}][\p{L}\p{N}\p{M}._]*|\.(?:[\p{L}._][\p{L}\p{N}\p{M}._]*)?)$/u.test(name) &&
    !RESERVED.has(name) && !/^\.\.(?:\.|\d+)$/.test(name);
  return ok ? name : `\`${name}\``;
}

/** Add every name an expression refers to (variables and constants like `pi`) to `into`. */
export function exprNames(e: Expr, into: Set<string>): Set<string> {
  switch (e.type) {
    case "name":
      into.add(e.name);
      break;
    case "paren":
      exprNames(e.expr, into);
      break;
    case "unary":
      exprNames(e.arg, into);
      break;
    case "binary":
      exprNames(e.left, into);
      exprNames(e.right, into);
      break;
    case "call":
      for (const a of e.args) exprNames(a, into);
      break;
  }
  return into;
}

/** R's deparse of a numeric constant: 15 significant digits, R's exponent style. */
export function deparseNumber(v: number): string {
  if (v === Infinity) return "Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const s = String(Number(v.toPrecision(15)));
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}
