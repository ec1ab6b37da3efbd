/**
 * The fixed-effects model matrix, built as R's `model.matrix` does:
 * treatment contrasts for factors (polynomial for ordered factors), a factor
 * coded by full indicators when the term without it is not marginal to an
 * earlier term (R's TermCode rule), columns of an interaction with the
 * first variable varying fastest, R's column names.
 * @module
 */
import type { FactorColumn } from "../data/frame.ts";
import type { VarColumn } from "../formula/evaluate.ts";
import type { TermSet } from "../formula/terms.ts";
import { type Contrast, contrDummy, contrPoly, contrTreatment } from "./contrasts.ts";

/** How one variable enters one term. */
export type Coding =
  | { kind: "numeric"; label: string }
  | { kind: "factor"; label: string; contrast: Contrast }
  /** A matrix variable (poly(x, 2)): columns label + suffix, as R names them. */
  | { kind: "matrix"; label: string; suffixes: readonly string[] };

/** What is needed to rebuild the same columns on new data. */
export interface FixedPlan {
  /** Whether column 1 is the intercept. */
  readonly intercept: boolean;
  /** Per term: the coding of each of its variables, in variable order. */
  readonly terms: readonly {
    readonly label: string;
    readonly vars: readonly number[];
    readonly codings: readonly Coding[];
    /** The response alone on the right-hand side: no columns (R drops it). */
    readonly response?: boolean;
  }[];
  /** Column names in order. */
  readonly names: readonly string[];
  /** Term index of each column (0 = intercept), as R's "assign" attribute (1-based terms). */
  readonly assign: readonly number[];
  /** Factor levels of each factor variable (by variable index), for predict(). */
  readonly factorLevels: ReadonlyMap<number, readonly string[]>;
  /**
   * R's model.matrix warnings, e.g. for `y ~ x + y`: "the response appeared on
   * the right-hand side and was dropped", "problem with term 2 in
   * model.matrix: no columns are assigned".
   */
  readonly warnings: readonly string[];
}

/** True when `sub` ⊆ `sup` (both sorted variable-index lists). */
function subset(sub: readonly number[], sup: readonly number[]): boolean {
  return sub.every((v) => sup.includes(v));
}

/**
 * Decide the coding of every factor in every term. R's rule: factor f in
 * term T gets contrasts when T∖{f} is empty or contained in a preceding term;
 * otherwise full indicators. Without an intercept, the first factor of the
 * first term that has one is coded by indicators.
 */
export function planFixed(ts: TermSet, cols: readonly VarColumn[]): FixedPlan {
  const factorLevels = new Map<number, readonly string[]>();
  let firstFactorFull = !ts.intercept;
  const terms = ts.terms.map((t, ti) => {
    const codings: Coding[] = t.vars.map((v) => {
      const c = cols[v];
      const label = ts.variables[v].label;
      if (c.kind === "numeric") return { kind: "numeric", label };
      if (c.kind === "matrix") return { kind: "matrix", label, suffixes: c.suffixes };
      factorLevels.set(v, c.levels);
      const rest = t.vars.filter((u) => u !== v);
      let full = !(rest.length === 0 || ts.terms.slice(0, ti).some((p) => subset(rest, p.vars)));
      if (firstFactorFull) {
        full = true;
        firstFactorFull = false;
      }
      if (!full && c.levels.length < 2) {
        throw new RangeError(
          `factor '${label}' has only one level ('${
            c.levels[0] ?? ""
          }'): contrasts need at least two`,
        );
      }
      const contrast = full
        ? contrDummy(c.levels)
        : c.ordered
        ? contrPoly(c.levels.length)
        : contrTreatment(c.levels);
      return { kind: "factor", label, contrast };
    });
    return { label: t.label, vars: t.vars, codings, response: t.response === true };
  });
  const names: string[] = [];
  const assign: number[] = [];
  const warnings: string[] = [];
  if (ts.intercept) (names.push("(Intercept)"), assign.push(0));
  terms.forEach((t, ti) => {
    if (t.response) {
      // R: a term that is the response alone generates no columns.
      warnings.push(
        "the response appeared on the right-hand side and was dropped",
        `problem with term ${ti + 1} in model.matrix: no columns are assigned`,
      );
      return;
    }
    for (const n of termColumnNames(t.codings)) (names.push(n), assign.push(ti + 1));
  });
  return { intercept: ts.intercept, terms, names, assign, factorLevels, warnings };
}

/** Column names of one term: the first variable varies fastest. */
function termColumnNames(codings: readonly Coding[]): string[] {
  let out = [""];
  codings.forEach((c, k) => {
    const parts = c.kind === "numeric"
      ? [c.label]
      : c.kind === "matrix"
      ? c.suffixes.map((s) => c.label + s)
      : c.contrast.names.map((s) => c.label + s);
    const next: string[] = [];
    for (const p of parts) for (const prefix of out) next.push(k === 0 ? p : `${prefix}:${p}`);
    out = next;
  });
  return out;
}

/** The error for new data whose variable has another type than in the fit. */
function changedType(label: string, was: "numeric" | "factor", now: VarColumn): TypeError {
  const shown = label.length > 40 ? `${label.slice(0, 40)}… (${label.length} characters)` : label;
  const got = now.kind === "matrix"
    ? "a matrix"
    : now.kind === "factor"
    ? `text/factor values (${now.levels.slice(0, 3).map((l) => JSON.stringify(l)).join(", ")}${
      now.levels.length > 3 ? ", …" : ""
    })`
    : "numbers";
  return new TypeError(
    `'${shown}' was ${
      was === "numeric" ? "numeric" : "a factor"
    } in the data the model was fitted to, but the new data has ${got}`,
  );
}

/**
 * Fill the model matrix (column-major) for the rows of `cols`.
 * @param cols evaluated variables (by variable index), all of length n
 */
export function buildFixed(plan: FixedPlan, cols: readonly VarColumn[], n: number): Float64Array {
  const p = plan.names.length;
  const x = new Float64Array(n * p);
  let j = 0;
  if (plan.intercept) {
    x.fill(1, 0, n);
    j = 1;
  }
  for (const t of plan.terms) {
    if (t.response) continue;
    // Each variable's factors: a numeric column, a matrix's columns, or a
    // contrast column looked up by level code (never materialized per row).
    type Part = { values: Float64Array } | { byLevel: Float64Array; codes: Int32Array };
    const parts: Part[][] = t.vars.map((v, k) => {
      const coding = t.codings[k];
      const c = cols[v];
      if (coding.kind === "numeric") {
        if (c.kind !== "numeric") throw changedType(coding.label, "numeric", c);
        return [{ values: c.values }];
      }
      if (coding.kind === "matrix") {
        if (c.kind !== "matrix") throw changedType(coding.label, "numeric", c);
        return c.columns.map((values) => ({ values }));
      }
      if (c.kind !== "factor") throw changedType(coding.label, "factor", c);
      const cv = coding.contrast.values;
      return coding.contrast.names.map((_, a) => ({
        byLevel: Float64Array.from(cv, (row) => row[a]),
        codes: c.codes,
      }));
    });
    // Columns of a term: product over its variables, first varying fastest,
    // each written straight into x and multiplied in place.
    const combo = new Int32Array(parts.length);
    const count = parts.reduce((s, ps) => s * ps.length, 1);
    for (let col = 0; col < count; col++) {
      const out = x.subarray(n * j, n * (j + 1));
      out.fill(1);
      for (let k = 0; k < parts.length; k++) {
        const part = parts[k][combo[k]];
        if ("values" in part) {
          const v = part.values;
          for (let i = 0; i < n; i++) out[i] *= v[i];
        } else {
          const { byLevel, codes } = part;
          for (let i = 0; i < n; i++) out[i] *= byLevel[codes[i]];
        }
      }
      j++;
      for (let k = 0; k < parts.length; k++) {
        if (++combo[k] < parts[k].length) break;
        combo[k] = 0;
      }
    }
  }
  return x;
}

/** Map a factor onto training levels; an unseen level is an error naming it. */
export function matchLevels(
  col: FactorColumn,
  levels: readonly string[],
  label: string,
): FactorColumn {
  const pos = new Map(levels.map((l, i) => [l, i]));
  const codes = new Int32Array(col.codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = col.codes[i];
    if (c < 0) {
      codes[i] = -1;
      continue;
    }
    const k = pos.get(col.levels[c]);
    if (k === undefined) {
      throw new RangeError(
        `new data: factor '${label}' has level '${
          col.levels[c]
        }' that the model was not fitted with (levels: ${levels.join(", ")})`,
      );
    }
    codes[i] = k;
  }
  return { kind: "factor", levels, codes, ordered: col.ordered };
}
