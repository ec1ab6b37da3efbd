/**
 * lme4's printed summary of a generalized linear mixed model
 * (print.summary.merMod for a glmerMod): title, family, formula, the
 * AIC/BIC/logLik/deviance/df.resid line, scaled (Pearson) residuals, random
 * effects, group counts, the z table, the correlation of fixed effects and
 * the convergence messages.
 * @module
 */
import { coefmatCells, printCoefmat } from "../../display/rformat.ts";
import {
  htmlBlock,
  htmlHeader,
  htmlMessages,
  htmlTable,
  JUPYTER_DISPLAY,
  type MimeBundle,
} from "../../display/bundle.ts";
import {
  fixefCorrelation,
  fixefCorrelationLines,
  formatVC,
  infoCriteriaFact,
  infoCriteriaLines,
  observationsFact,
  randomEffectsLines,
  residualQuantiles,
  scaledResidualLines,
  varCorrHtmlRows,
} from "../lmer/summary.ts";
import type { GeneralizedLinearMixedModel } from "./model.ts";

/**
 * R's deparse line breaking of a formula (width.cutoff 60): after a binary
 * operator written with spaces (" ~ ", " + ", " | ", …), once the line is
 * longer than 60 characters, the rest goes on a new line indented by four
 * spaces.
 *
 * @example
 * ```ts
 * import { deparseLines } from "./summary.ts";
 * deparseLines("y ~ x").length; // 1
 * ```
 */
export function deparseLines(formula: string, cutoff = 60): string[] {
  const lines: string[] = [];
  const ops = [" ~ ", " + ", " - ", " * ", " / ", " || ", " | ", " %in% "];
  let line = "";
  let i = 0;
  while (i < formula.length) {
    const op = ops.find((o) => formula.startsWith(o, i));
    if (op) {
      line += op;
      i += op.length;
      if (line.length > cutoff && i < formula.length) {
        lines.push(line);
        line = "    ";
      }
    } else {
      line += formula[i++];
    }
  }
  lines.push(line);
  return lines;
}

/** lme4's summary of a fitted GLMM. */
export class GlmerSummary {
  /** The model summarised. */
  readonly model: GeneralizedLinearMixedModel;
  /** Wrap a model; use `m.summary()`. */
  constructor(model: GeneralizedLinearMixedModel) {
    this.model = model;
  }

  /** The title: "Generalized linear mixed model fit by maximum likelihood (Laplace …". */
  title(): string {
    const m = this.model;
    const how = m.nAGQ === 1
      ? "Laplace\n  Approximation"
      : `Adaptive\n  Gauss-Hermite Quadrature, nAGQ = ${m.nAGQ}`;
    return `Generalized linear mixed model fit by maximum likelihood (${how}) [glmerMod]`;
  }

  /** The random-effects table (lme4's formatVC, no residual row) as text lines. */
  randomEffectsText(digits = 4): string {
    // as lme4 prints GLMM summaries: correlations with max(2, digits - 3)
    // decimals, group labels without the ".1" of repeated factors
    return formatVC(this.model.varCorrTerms(), {
      digits,
      corrDigits: Math.max(2, digits - 3),
      groupLabel: (g) => g.replace(/\.\d+$/, ""),
    });
  }

  /** Notebook display: lme4's text and an HTML rendering. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const m = this.model;
    const fam = m.family;
    const facts: [string, string][] = [
      ["Family:", `${fam.family} (${fam.link})`],
      ["Formula:", m.formula],
    ];
    if (m.dataName) facts.push(["Data:", m.dataName]);
    facts.push(
      [
        "AIC, BIC, logLik, deviance, df.resid:",
        infoCriteriaFact([m.AIC(), m.BIC(), m.logLik(), m.deviance()]) + `, ${m.dfResidual}`,
      ],
      observationsFact(m.nobs, m.ngrps()),
    );
    const reRows = varCorrHtmlRows(m.varCorrTerms());
    const rows = m.coefRows();
    const cols = ["Estimate", "Std. Error", "z value", "Pr(>|z|)"];
    const { cells } = coefmatCells(
      cols,
      rows.map((x) => [x.estimate, x.stdError, x.statistic, x.pValue]),
      { digits: 4, pColumn: 3 },
    );
    const html = htmlBlock([
      htmlHeader(
        "Generalized linear mixed model fit by maximum likelihood (" +
          (m.nAGQ === 1 ? "Laplace" : `adaptive Gauss-Hermite quadrature, nAGQ = ${m.nAGQ}`) + ")",
        facts,
      ),
      htmlTable(["Groups", "Name", "Variance", "Std.Dev.", "Corr"], reRows, {
        caption: "Random effects",
        numeric: [false, false, true, true, true],
      }),
      htmlTable(["", ...cols], rows.map((x, i) => [x.term, ...cells[i]]), {
        caption: "Fixed effects",
      }),
      htmlMessages([...m.frame.messages, ...m.messages]),
    ]);
    return { "text/plain": this.toString(), "text/html": html };
  }

  /** lme4's print(summary(m)) text. */
  toString(): string {
    const m = this.model;
    const out: string[] = [];
    out.push(this.title());
    out.push(` Family: ${m.family.family}  ( ${m.family.link} )`);
    out.push(`Formula: ${deparseLines(m.formula).join("\n")}`);
    if (m.dataName) out.push(`   Data: ${m.dataName}`);
    if (m.frame.weightsLabel) out.push(`Weights: ${m.frame.weightsLabel}`);
    if (m.frame.offsetLabel) out.push(` Offset: ${m.frame.offsetLabel}`);
    out.push("");
    out.push(...infoCriteriaLines([m.AIC(), m.BIC(), m.logLik(), m.deviance()], m.dfResidual));
    out.push("");
    out.push(...scaledResidualLines(residualQuantiles(m.residuals("pearson"))));
    out.push("");
    out.push(...randomEffectsLines(this.randomEffectsText(), m.nobs, m.ngrps()));
    out.push("");
    const rows = m.coefRows();
    if (rows.length) {
      out.push("Fixed effects:");
      out.push(
        printCoefmat(
          rows.map((x) => x.term),
          ["Estimate", "Std. Error", "z value", "Pr(>|z|)"],
          rows.map((x) => [x.estimate, x.stdError, x.statistic, x.pValue]),
          { digits: 4, pColumn: 3 },
        ),
      );
      const corr = fixefCorrelation(rows.map((x) => x.term), m.vcov().matrix);
      if (corr) out.push(...fixefCorrelationLines(corr));
    }
    if (m.messages.length) {
      out.push(
        `optimizer (Nelder_Mead) convergence code: 0 (OK)`,
      );
    }
    for (const msg of [...m.frame.messages, ...m.messages]) out.push(msg);
    out.push("");
    return out.join("\n");
  }
}
