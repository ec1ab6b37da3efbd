/**
 * lme4's printed summary of a linear mixed model (print.summary.merMod):
 * title, formula, criterion or AIC table, scaled residuals, random effects
 * (formatVC), group counts, fixed effects (printCoefmat), correlation of
 * fixed effects and the convergence messages, with lme4's digits.
 * @module
 */
import { coefmatCells, formatReal, printCoefmat, roundTo } from "../../display/rformat.ts";
import {
  htmlBlock,
  htmlHeader,
  htmlMessages,
  htmlTable,
  JUPYTER_DISPLAY,
  type MimeBundle,
} from "../../display/bundle.ts";
import { quantile7 } from "../lm.ts";
import { type DdfMethod, lmerInference } from "./extensions.ts";
import type { LinearMixedModel } from "./model.ts";
import { ROWS_NEEDED } from "./core.ts";

/** The summary's line where lme4 prints the scaled residuals, for a model without rows. */
const NO_RESIDUALS =
  "Scaled residuals: not available (they need the rows; this model was fitted from aggregates)";

/**
 * The phrase lmerTest adds to the summary's title line:
 * "t-tests use Satterthwaite's method" / "Kenward-Roger's method".
 *
 * @example
 * ```ts
 * import { ddfTitle } from "./summary.ts";
 * ddfTitle("kenward-roger"); // "t-tests use Kenward-Roger's method"
 * ```
 */
export function ddfTitle(method: DdfMethod): string {
  return `t-tests use ${method === "satterthwaite" ? "Satterthwaite's" : "Kenward-Roger's"} method`;
}

/**
 * The first line(s) of lmerTest's printed summary, as lme4's `.prt.methTit`
 * lays them out at width 80: "Linear mixed model fit by REML. t-tests use
 * Satterthwaite's method [" and "lmerModLmerTest]" on the next line (the
 * title is word-wrapped, and `cat(fill = TRUE)` breaks before an item that
 * would pass the width).
 *
 * @example
 * ```ts
 * import { lmerTestTitle } from "./summary.ts";
 * lmerTestTitle(true, "satterthwaite");
 * // "Linear mixed model fit by REML. t-tests use Satterthwaite's method [\nlmerModLmerTest]"
 * ```
 */
export function lmerTestTitle(reml: boolean, method: DdfMethod, width = 80): string {
  const title =
    (reml ? "Linear mixed model fit by REML" : "Linear mixed model fit by maximum likelihood ") +
    ". " + ddfTitle(method);
  const cls = "lmerModLmerTest";
  if (title.length + 5 + cls.length <= width) return `${title} ['${cls}']`;
  // strwrap(title, width - 2, exdent = 2): greedy, lines shorter than width - 2.
  const lines: string[] = [];
  let line = "";
  for (const word of title.split(/\s+/).filter((w) => w !== "")) {
    const indent = lines.length ? "  " : "";
    const next = line === "" ? indent + word : `${line} ${word}`;
    if (line !== "" && next.length >= width - 2) {
      lines.push(line);
      line = "  " + word;
    } else line = next;
  }
  lines.push(line);
  // cat(lines, " [", class, "]", sep = "", fill = TRUE)
  let out = "", col = 0;
  for (const item of [...lines, " [", cls, "]"]) {
    if (col > 0 && col + item.length > width) (out += "\n", col = 0);
    out += item;
    col += item.length;
  }
  return out;
}

/** R's `abbreviate(x, minlength)` (drop lower-case vowels, then lower-case letters, from the right). */
export function abbreviate(s: string, minlength: number): string {
  if (s.length <= minlength) return s;
  const chars = [...s];
  for (const pattern of [/[aeiou]/, /[a-z]/]) {
    for (let i = chars.length - 1; i > 0 && chars.length > minlength; i--) {
      if (pattern.test(chars[i])) chars.splice(i, 1);
    }
  }
  return chars.length > minlength ? chars.slice(0, minlength).join("") : chars.join("");
}

/** Print a character matrix as R does with quote = FALSE (left-aligned). */
export function printCharMatrix(rowNames: string[], colNames: string[], cells: string[][]): string {
  const rw = Math.max(0, ...rowNames.map((r) => r.length));
  const cw = colNames.map((c, j) => Math.max(c.length, ...cells.map((r) => r[j].length)));
  const lines = [" ".repeat(rw) + colNames.map((c, j) => " " + c.padEnd(cw[j])).join("")];
  cells.forEach((r, i) =>
    lines.push(rowNames[i].padEnd(rw) + r.map((c, j) => " " + c.padEnd(cw[j])).join(""))
  );
  return lines.join("\n");
}

/**
 * R 4.2's zapsmall(x, digits): round to `digits - log10(max|x|)` decimals,
 * a non-integer that R's round() takes to the nearest integer.
 */
export function zapsmall(x: number[], digits: number): number[] {
  const mx = Math.max(...x.map(Math.abs));
  const d = mx > 0 ? Math.max(0, Math.floor(digits - Math.log10(mx) + 0.5)) : digits;
  return x.map((v) => roundTo(v, d));
}

const RESIDUAL_QUANTILES = ["Min", "1Q", "Median", "3Q", "Max"];

/** Quantiles (Min, 1Q, Median, 3Q, Max) of residuals as lme4's summary prints them. */
export function residualQuantiles(residuals: ArrayLike<number>): string[] {
  const r = Float64Array.from(residuals).sort();
  const q = zapsmall([0, 0.25, 0.5, 0.75, 1].map((p) => quantile7(r, p)), 5);
  return formatReal(q, 4);
}

/** lme4's "Scaled residuals:" block (three lines) from the formatted quantiles. */
export function scaledResidualLines(qf: readonly string[]): string[] {
  const w = Math.max(...qf.map((s) => s.length), ...RESIDUAL_QUANTILES.map((s) => s.length));
  return [
    "Scaled residuals: ",
    RESIDUAL_QUANTILES.map((h) => h.padStart(w)).join(" ") + " ",
    qf.map((s) => s.padStart(w)).join(" ") + " ",
  ];
}

/** lme4's "Number of obs: n, groups:  g, k; …" line. */
export function groupsLine(nobs: number, ngrps: Record<string, number>): string {
  return `Number of obs: ${nobs}, groups:  ${
    Object.entries(ngrps).map(([k, v]) => `${k}, ${v}`).join("; ")
  }`;
}

/** The printed summary's "Random effects:" block: the table and the groups line. */
export function randomEffectsLines(
  table: string,
  nobs: number,
  ngrps: Record<string, number>,
): string[] {
  return ["Random effects:", table, groupsLine(nobs, ngrps)];
}

/** One random-effects term as the variance tables print it. */
export interface VarCorrTerm {
  /** Its group label. */
  readonly grp: string;
  /** Its columns' names. */
  readonly names: readonly string[];
  /** Its covariance matrix (q × q, rows). */
  readonly cov: readonly (readonly number[])[];
}

/**
 * lme4's formatVC as text: one row per random-effects column (and a
 * "Residual" row when `residualSd` is given) with the `comp` columns, and the
 * lower triangle of each term's correlations with `corrDigits` decimals.
 */
export function formatVC(
  terms: readonly VarCorrTerm[],
  options: {
    digits: number;
    corrDigits: number;
    residualSd?: number;
    comp?: readonly ("Variance" | "Std.Dev.")[];
    groupLabel?: (grp: string) => string;
  },
): string {
  const { digits, corrDigits: dig, residualSd } = options;
  const comp = options.comp ?? ["Variance", "Std.Dev."];
  const label = options.groupLabel ?? ((g: string) => g);
  const sds: number[] = [], groups: string[] = [], names: string[] = [];
  for (const t of terms) {
    t.names.forEach((nm, i) => {
      groups.push(i === 0 ? label(t.grp) : "");
      names.push(nm);
      sds.push(Math.sqrt(t.cov[i][i]));
    });
  }
  if (residualSd !== undefined) {
    groups.push("Residual");
    names.push("");
    sds.push(residualSd);
  }
  const variance = formatReal(sds.map((s) => s * s), digits);
  const stddev = formatReal(sds, digits);
  const maxq = Math.max(...terms.map((t) => t.names.length));
  const header = ["Groups", "Name", ...comp];
  const rows = groups.map((g, i) => [
    g,
    names[i],
    ...comp.map((c) => (c === "Variance" ? variance[i] : stddev[i])),
  ]);
  if (maxq > 1) {
    // Correlations: lower triangle, columns 1..maxq-1.
    const corr: string[][] = [];
    for (const t of terms) {
      const q = t.names.length;
      for (let i = 0; i < q; i++) {
        const row: string[] = [];
        for (let j = 0; j < maxq - 1; j++) {
          row.push(
            j < i
              ? roundTo(t.cov[i][j] / Math.sqrt(t.cov[i][i] * t.cov[j][j]), dig).toFixed(dig)
              : "",
          );
        }
        corr.push(row);
      }
    }
    if (residualSd !== undefined) corr.push(new Array(maxq - 1).fill(""));
    // format() pads each correlation column to a common width (right-aligned numbers).
    for (let j = 0; j < maxq - 1; j++) {
      const w = Math.max(...corr.map((r) => r[j].length));
      corr.forEach((r) => (r[j] = r[j] === "" ? "" : r[j].padStart(w)));
    }
    header.push("Corr", ...new Array(maxq - 2).fill(""));
    rows.forEach((r, i) => r.push(...corr[i]));
  }
  return printCharMatrix(rows.map(() => ""), header, rows);
}

/**
 * The random-effects rows of the HTML summaries (Groups, Name, Variance,
 * Std.Dev., Corr; 4 digits, correlations with 2 decimals), with a
 * "Residual" row when `residualSd` is given (linear models).
 */
export function varCorrHtmlRows(terms: readonly VarCorrTerm[], residualSd?: number): string[][] {
  const sds: number[] = [];
  for (const t of terms) t.names.forEach((_, i) => sds.push(Math.sqrt(t.cov[i][i])));
  if (residualSd !== undefined) sds.push(residualSd);
  const variance = formatReal(sds.map((s) => s * s), 4), stddev = formatReal(sds, 4);
  const rows: string[][] = [];
  let k = 0;
  for (const t of terms) {
    t.names.forEach((nm, i) => {
      const corr = t.names.slice(0, i).map((_, j) =>
        roundTo(t.cov[i][j] / Math.sqrt(t.cov[i][i] * t.cov[j][j]), 2).toFixed(2)
      ).join(" ");
      rows.push([i === 0 ? t.grp : "", nm, variance[k], stddev[k], corr]);
      k++;
    });
  }
  if (residualSd !== undefined) rows.push(["Residual", "", variance[k], stddev[k], ""]);
  return rows;
}

/** The HTML summaries' "Observations:" fact: "n; groups: g k, …". */
export function observationsFact(nobs: number, ngrps: Record<string, number>): [string, string] {
  return [
    "Observations:",
    `${nobs}; groups: ${Object.entries(ngrps).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  ];
}

/** AIC, BIC, logLik and deviance rounded to 1 decimal, as the HTML summaries list them. */
export function infoCriteriaFact(values: readonly number[]): string {
  return values.map((v) => roundTo(v, 1).toFixed(1)).join(", ");
}

/**
 * lme4's two-line AIC/BIC/logLik/deviance/df.resid table of the printed
 * summary (values rounded to 1 decimal, columns to a common width).
 */
export function infoCriteriaLines(values: readonly number[], dfResid: number): string[] {
  const names = ["AIC", "BIC", "logLik", "deviance", "df.resid"];
  const vals = formatReal(values.map((v) => roundTo(v, 1)), 7).map((s) => s.trim());
  vals.push(String(dfResid));
  const w = Math.max(...names.map((s) => s.length), ...vals.map((s) => s.length));
  return [
    names.map((s) => s.padStart(w)).join(" ") + " ",
    vals.map((s) => s.padStart(w)).join(" ") + " ",
  ];
}

/** lme4's correlation of fixed effects: lower triangle, 3 decimals, names abbreviated. */
export interface FixefCorrelation {
  /** Row names (terms 2..p, abbreviated to 11). */
  rows: string[];
  /** Column names (terms 1..p-1, abbreviated to 6). */
  columns: string[];
  /** The cells, "" above the diagonal. */
  cells: string[][];
}

/**
 * lme4's correlation of fixed effects from the terms and their covariance
 * matrix, or undefined where lme4 leaves it out (p < 2 or p > 12).
 */
export function fixefCorrelation(
  terms: readonly string[],
  v: readonly (ArrayLike<number>)[],
): FixefCorrelation | undefined {
  const p = terms.length;
  if (p < 2 || p > 12) return undefined;
  const cells = terms.slice(1).map((_, a) =>
    terms.slice(0, p - 1).map((_, b) => {
      const i = a + 1;
      return b < i ? roundTo(v[i][b] / Math.sqrt(v[i][i] * v[b][b]), 3).toFixed(3) : "";
    })
  );
  return {
    rows: terms.slice(1).map((x) => abbreviate(x, 11)),
    columns: terms.slice(0, p - 1).map((x) => abbreviate(x, 6)),
    cells,
  };
}

/** The printed "Correlation of Fixed Effects:" block (after a blank line). */
export function fixefCorrelationLines(corr: FixefCorrelation): string[] {
  // format(round(x, 3), nsmall = 3) pads to a common width.
  const cw = Math.max(...corr.cells.flat().map((s) => s.length));
  const padded = corr.cells.map((r) => r.map((s) => (s === "" ? "" : s.padStart(cw))));
  return ["", "Correlation of Fixed Effects:", printCharMatrix(corr.rows, corr.columns, padded)];
}

/** lme4's summary of a fitted linear mixed model. */
export class LmerSummary {
  /** The model summarised. */
  readonly model: LinearMixedModel;
  /** Denominator-df method for the fixed-effects t-tests (lmerTest), if any. */
  readonly ddf: DdfMethod | undefined;
  /** Wrap a model; use `m.summary()` or `m.summary({ ddf: "satterthwaite" })`. */
  constructor(model: LinearMixedModel, ddf?: DdfMethod) {
    this.model = model;
    this.ddf = ddf;
  }

  /**
   * The random-effects table (lme4's formatVC) as text lines: `comp`
   * "Variance" and "Std.Dev." as in the summary (digits 4), or "Std.Dev."
   * alone as `print(VarCorr(m))` (digits 5).
   */
  randomEffectsText(
    digits = 4,
    comp: readonly ("Variance" | "Std.Dev.")[] = ["Variance", "Std.Dev."],
  ): string {
    // lme4's formatVC: correlations with max(2, digits - 2) decimals
    return formatVC(this.model.varCorrTerms(), {
      digits,
      corrDigits: Math.max(2, digits - 2),
      residualSd: this.model.sigma,
      comp,
    });
  }

  /**
   * The display of `m.varCorr()`: `text/plain` as R prints `VarCorr(m)`
   * (lme4's formatVC with standard deviations, digits 5), `text/html` the
   * same table.
   */
  varCorrBundle(): MimeBundle {
    const m = this.model;
    const terms = m.varCorrTerms();
    const sds: number[] = [];
    for (const t of terms) t.names.forEach((_, i) => sds.push(Math.sqrt(t.cov[i][i])));
    sds.push(m.sigma);
    const stddev = formatReal(sds, 5);
    const rows: string[][] = [];
    let k = 0;
    for (const t of terms) {
      t.names.forEach((nm, i) => {
        const corr = t.names.slice(0, i).map((_, j) =>
          roundTo(t.cov[i][j] / Math.sqrt(t.cov[i][i] * t.cov[j][j]), 3).toFixed(3)
        ).join(" ");
        rows.push([i === 0 ? t.grp : "", nm, stddev[k++], corr]);
      });
    }
    rows.push(["Residual", "", stddev[k], ""]);
    const anyCorr = terms.some((t) => t.names.length > 1);
    const header = ["Groups", "Name", "Std.Dev.", ...(anyCorr ? ["Corr"] : [])];
    const html = htmlBlock([
      htmlTable(header, rows.map((r) => r.slice(0, header.length)), {
        caption: "Random effects: VarCorr(m)",
        numeric: header.map((_, j) => j >= 2),
      }),
    ]);
    return { "text/plain": this.randomEffectsText(5, ["Std.Dev."]), "text/html": html };
  }

  /**
   * The scaled residuals' quantiles (Min, 1Q, Median, 3Q, Max) as lme4 prints
   * them; null for a model fitted from aggregates whose source cannot stream
   * its rows back (a SQL table): the rest of the summary needs no rows.
   */
  #scaledResidualQuantiles(): string[] | null {
    try {
      return residualQuantiles(this.model.residuals({ scaled: true }));
    } catch (e) {
      if (e instanceof Error && e.message.endsWith(ROWS_NEEDED)) return null;
      throw e;
    }
  }

  /**
   * lme4's correlation of fixed effects (lower triangle, 3 decimals, names
   * abbreviated as R does), or undefined where lme4 leaves it out (p < 2 or p > 12).
   */
  #fixefCorrelation(): FixefCorrelation | undefined {
    return fixefCorrelation(this.model.coefRows().map((x) => x.term), this.model.vcov().matrix);
  }

  /**
   * Notebook display: lme4's text and an HTML rendering arranged for reading,
   * with every section of the text (scaled residuals, random effects, fixed
   * effects, their correlation, messages).
   */
  [JUPYTER_DISPLAY](): MimeBundle {
    const m = this.model;
    const facts: [string, string][] = [["Formula:", m.formula]];
    if (m.dataName) facts.push(["Data:", m.dataName]);
    facts.push(
      m.REML ? ["REML criterion at convergence:", formatReal([roundTo(m.REMLcrit(), 1)], 7)[0]] : [
        "AIC, BIC, logLik, deviance:",
        infoCriteriaFact([m.AIC(), m.BIC(), m.logLik(), m.deviance()]),
      ],
      observationsFact(m.nobs, m.ngrps()),
    );
    // Random effects: lme4's formatVC cells, as a table.
    const reRows = varCorrHtmlRows(m.varCorrTerms(), m.sigma);
    const rows = m.coefRows();
    const corr = this.#fixefCorrelation();
    const cols = ["Estimate", "Std. Error", "t value"];
    const { cells } = coefmatCells(cols, rows.map((x) => [x.estimate, x.stdError, x.statistic]), {
      digits: 4,
    });
    const html = htmlBlock([
      htmlHeader(
        m.REML ? "Linear mixed model fit by REML" : "Linear mixed model fit by maximum likelihood",
        facts,
      ),
      htmlTable(RESIDUAL_QUANTILES, [
        this.#scaledResidualQuantiles() ?? RESIDUAL_QUANTILES.map(() => ""),
      ], {
        caption: this.#scaledResidualQuantiles() ? "Scaled residuals" : NO_RESIDUALS,
        numeric: RESIDUAL_QUANTILES.map(() => true),
      }),
      htmlTable(["Groups", "Name", "Variance", "Std.Dev.", "Corr"], reRows, {
        caption: "Random effects",
        numeric: [false, false, true, true, true],
      }),
      htmlTable(["", ...cols], rows.map((x, i) => [x.term, ...cells[i]]), {
        caption: "Fixed effects",
      }),
      corr
        ? htmlTable(["", ...corr.columns], corr.rows.map((r, i) => [r, ...corr.cells[i]]), {
          caption: "Correlation of Fixed Effects",
        })
        : "",
      htmlMessages([...m.frameMessages, ...m.messages]),
    ]);
    return { "text/plain": this.toString(), "text/html": html };
  }

  /** lme4's print(summary(m)) text. */
  toString(): string {
    const m = this.model;
    const out: string[] = [];
    out.push(
      this.ddf
        ? lmerTestTitle(m.REML, this.ddf)
        : m.REML
        ? "Linear mixed model fit by REML ['lmerMod']"
        : "Linear mixed model fit by maximum likelihood  ['lmerMod']",
    );
    out.push(`Formula: ${m.formula}`);
    if (m.dataName) out.push(`   Data: ${m.dataName}`);
    out.push("");
    if (m.REML) {
      out.push(`REML criterion at convergence: ${formatReal([roundTo(m.REMLcrit(), 1)], 7)[0]}`);
    } else {
      out.push(
        ...infoCriteriaLines(
          [m.AIC(), m.BIC(), m.logLik(), m.deviance()],
          m.nobs - m.frame.x.p - m.theta.length - 1,
        ),
      );
    }
    out.push("");
    const quantiles = this.#scaledResidualQuantiles();
    out.push(...(quantiles ? scaledResidualLines(quantiles) : [NO_RESIDUALS]));
    out.push("");
    out.push(...randomEffectsLines(this.randomEffectsText(), m.nobs, m.ngrps()));
    out.push("");
    const rows = m.coefRows();
    if (rows.length) {
      out.push("Fixed effects:");
      if (this.ddf) out.push(lmerInference("m.summary({ ddf })").fixedEffectsText(m, this.ddf));
      else {
        out.push(
          printCoefmat(
            rows.map((x) => x.term),
            ["Estimate", "Std. Error", "t value"],
            rows.map((x) => [x.estimate, x.stdError, x.statistic]),
            { digits: 4 },
          ),
        );
      }
      const corr = this.#fixefCorrelation();
      if (corr) out.push(...fixefCorrelationLines(corr));
      // p > 12: lme4 says on stderr that the correlation matrix is not shown; so do we (nothing).
    }
    const msgs = [...m.frameMessages, ...m.messages];
    if (m.messages.length) {
      out.push(
        `optimizer (BOBYQA) convergence code: ${m.convergence.code} (${
          m.convergence.code === 0 ? "OK" : "see messages"
        })`,
      );
    }
    // lme4 prints the messages it keeps from building X (rank drop,
    // check.scaleX) under "fit warnings:".
    const fitWarning = (msg: string) =>
      msg.startsWith("fixed-effect model matrix is rank deficient") ||
      msg.startsWith("Some predictor variables are on very different scales");
    let header = false;
    for (const msg of msgs) {
      if (!header && m.frameMessages.includes(msg) && fitWarning(msg)) {
        out.push("fit warnings:");
        header = true;
      }
      out.push(msg);
    }
    out.push("");
    return out.join("\n");
  }
}
