/**
 * Tokenizer for R/lme4 model formulas. Every token keeps its 1-based column
 * so that errors can point at the problem ("unbalanced parenthesis at 17").
 * @module
 */

/** Kinds of formula tokens. */
export type TokenKind =
  | "name"
  | "number"
  | "op"
  | "lparen"
  | "rparen"
  | "comma"
  | "string"
  | "end";

/** One token with its position (1-based column in the formula string). */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly pos: number;
}

/** A formula error that knows where in the string it happened. */
export class FormulaError extends Error {
  /** 1-based column of the problem in the formula, or 0 when not positional. */
  readonly pos: number;
  /** The formula text. */
  readonly formula: string;
  /** An error about `formula`, pointing at column `pos` when it is positive. */
  constructor(message: string, formula: string, pos = 0) {
    const where = pos > 0 ? ` at ${pos}` : "";
    // A long formula is shown as a window of 30 characters either side,
    // never cutting a character of two UTF-16 code units in half.
    let from = Math.max(0, pos - 31), to = Math.min(formula.length, pos + 30);
    if (from > 0 && isLowSurrogate(formula.charCodeAt(from))) from--;
    if (to < formula.length && isLowSurrogate(formula.charCodeAt(to))) to++;
    const head = from > 0 ? "…" : "", tail = to < formula.length ? "…" : "";
    const caret = pos > 0
      ? `\n  ${head}${formula.slice(from, to)}${tail}\n  ${
        " ".repeat(pos - 1 - from + head.length)
      }^`
      : "";
    super(`formula: ${message}${where}${caret}`);
    this.name = "FormulaError";
    this.pos = pos;
    this.formula = formula;
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

const OPERATORS = [
  "%in%",
  "||",
  "&&",
  "==",
  "!=",
  "<=",
  ">=",
  "~",
  "+",
  "-",
  "*",
  "/",
  ":",
  "^",
  "|",
  "&",
  "!",
  "<",
  ">",
  "=",
];

/** Split a formula string into tokens. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const pos = i + 1;
    if (ch === "(") {
      out.push({ kind: "lparen", text: ch, pos });
      i++;
      continue;
    }
    if (ch === ")") {
      out.push({ kind: "rparen", text: ch, pos });
      i++;
      continue;
    }
    if (ch === ",") {
      out.push({ kind: "comma", text: ch, pos });
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ kind: "op", text: op, pos });
      i += op.length;
      continue;
    }
    if (ch === "%") {
      throw new FormulaError("unknown %-operator (only %in% is supported)", src, pos);
    }
    // Numbers: 1, 0.5, .5, 1e-3 (R syntax; a trailing L is accepted as integer).
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?/.exec(src.slice(i));
    if (num && /[\d.]/.test(ch) && !(ch === "." && /^\.[A-Za-z_.]/.test(src.slice(i)))) {
      out.push({ kind: "number", text: num[0].replace(/L$/, ""), pos });
      i += num[0].length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      // R's string literal (in comparisons inside I(), e.g. I(f == "a")).
      let j = i + 1, text = "";
      while (j < src.length && src[j] !== ch) {
        if (src[j] === "\\" && j + 1 < src.length) {
          const e = src[j + 1];
          text += e === "n" ? "\n" : e === "t" ? "\t" : e;
          j += 2;
        } else text += src[j++];
      }
      if (j >= src.length) throw new FormulaError("unterminated string", src, pos);
      out.push({ kind: "string", text, pos });
      i = j + 1;
      continue;
    }
    if (ch === "`") {
      const close = src.indexOf("`", i + 1);
      if (close < 0) throw new FormulaError("unterminated backquoted name", src, pos);
      out.push({ kind: "name", text: src.slice(i + 1, close), pos });
      i = close + 1;
      continue;
    }
    // R's names: a letter (any script, as R accepts in a UTF-8 locale) or '.', then letters, digits, '.', '_'.
    const name = /^[\p{L}.][\p{L}\p{N}\p{M}._]*/u.exec(src.slice(i));
    if (name) {
      out.push({ kind: "name", text: name[0], pos });
      i += name[0].length;
      continue;
    }
    // a whole character (an emoji is two UTF-16 code units), never half of one
    const whole = String.fromCodePoint(src.codePointAt(i) ?? 0xfffd);
    throw new FormulaError(`unexpected character '${whole}'`, src, pos);
  }
  out.push({ kind: "end", text: "", pos: src.length + 1 });
  return out;
}
