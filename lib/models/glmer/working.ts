/**
 * The per-row work of PIRLS, fused: one pass gives μ at a linear predictor
 * η together with the unit deviances, and keeps what the next step's
 * working weights and working response need, so that a PIRLS step computes
 * each transcendental function once per row.
 *
 * For the logit and log links, R's `linkinv` and `mu.eta` both call `exp(η)`;
 * here the one value serves both, and every other operation is R's (and
 * the family's) in the same order, so the numbers are bit for bit those of
 * the family's functions: the optimizer sees the same deviances. The
 * probit and cloglog links call the family's functions.
 * @module
 */

import {
  binaryLogDensity,
  DESIGN_SHARE_MAX_BYTES,
  designBytesPerRow,
  logitBinaryRows,
  logitMuRows,
  logitWorkingRows,
  logPoissonRows,
  poissonLogDensity,
  poissonWorkingRows,
  ROW_THREADS_MIN,
  type RowDesign,
  SharedRows,
} from "./row_threads.ts";
import { bd0, dbinomLog, dpoisLog, type GlmFamily, stirlerr } from "./family.ts";

const LN_2PI = 1.837877066409345483560659472811;

const GENERIC = 0, LOGIT_BINOMIAL = 1, LOG_POISSON = 2;

/**
 * Working quantities of one model's rows (response, prior weights and
 * family fixed at construction).
 */
export class WorkingRows {
  /** Number of rows. */
  readonly n: number;
  private readonly family: GlmFamily;
  private readonly kind: number;
  private readonly y: Float64Array;
  private readonly wt: Float64Array;
  private readonly size: Float64Array;
  /** Logit: e^η (clamped as R clamps it) at the last evaluated η. */
  private readonly ex: Float64Array;
  /** The μ of the last {@link evaluate}. */
  #mu: Float64Array = new Float64Array(0);
  /** dμ/dη at the last evaluated η (probit, cloglog). */
  private readonly me: Float64Array;
  /** V(μ) at the last evaluated η (probit, cloglog). */
  private readonly v: Float64Array;
  /** y − μ at the last evaluated η (probit, cloglog). */
  private readonly res: Float64Array;
  /**
   * The binomial aic's per-row constants, as R's `binomial()$aic` forms
   * them: successes round(m y), trials round(m) and the factor w/m (0 where
   * m = 0), m the sizes when some exceed 1, else the prior weights.
   */
  private readonly aicX: Float64Array | undefined;
  private readonly aicN: Float64Array | undefined;
  private readonly aicF: Float64Array | undefined;
  /** Rows with m > 0 (the others do not enter R's sum). */
  private readonly aicOn: Uint8Array | undefined;
  /** Every response is 0 or 1. */
  private readonly binaryY: boolean;
  /** Every row in the binomial aic has one trial (successes 0 or 1). */
  private readonly binaryAic: boolean;
  /**
   * The Poisson aic's per-row constants of R's dpois(y, μ, log = TRUE) for
   * integer y > 0: −stirlerr(y) and ½ log(2π y).
   */
  private readonly poisSt: Float64Array | undefined;
  private readonly poisC: Float64Array | undefined;
  /**
   * The binomial aic's per-row constants of R's dbinom(x, n, p, log = TRUE)
   * for 0 < x < n: stirlerr(n) − stirlerr(x) − stirlerr(n − x) and
   * log(2π) + log(x) + log1p(−x/n).
   */
  private readonly aicSt: Float64Array | undefined;
  private readonly aicLf: Float64Array | undefined;
  /**
   * The logarithms {@link evaluate} took, kept for {@link aicAtLast} where
   * the aic takes the same ones (logit with 0/1 responses and one trial per
   * row: log μ or log(1 − μ); Poisson with integer y: log(y/μ) for y > 0);
   * empty otherwise.
   */
  private readonly logs: Float64Array;
  /** Whether {@link evaluate} keeps its logarithms in {@link logs}. */
  private readonly keepLogs: boolean;
  /** The row kernel of row_threads.ts this model's rows take, if any. */
  private readonly fused: "logit" | "poisson" | undefined;
  /** The row arrays of a large model, shared with the row helper thread. */
  private readonly shared: SharedRows | undefined;
  /** {@link logs} holds the last {@link evaluate}'s values. */
  #logsValid = false;
  /**
   * Analyse the family and precompute the per-row constants; a large
   * model's `design` (when given) is shared with the row helper, so that
   * {@link evaluateFormed} forms η in the same pass.
   */
  constructor(
    y: Float64Array,
    size: Float64Array,
    weights: Float64Array,
    family: GlmFamily,
    design?: RowDesign,
  ) {
    const n = y.length;
    this.n = n;
    this.family = family;
    this.y = y;
    this.wt = weights;
    this.size = size;
    this.kind = family.family === "binomial" && family.link === "logit"
      ? LOGIT_BINOMIAL
      : family.family === "poisson" && family.link === "log"
      ? LOG_POISSON
      : GENERIC;
    const generic = this.kind === GENERIC;
    this.me = new Float64Array(generic ? n : 0);
    this.v = new Float64Array(generic ? n : 0);
    this.res = new Float64Array(generic ? n : 0);
    this.binaryY = y.every((v) => v === 0 || v === 1);
    let binaryAic = false;
    if (family.family === "binomial") {
      const big = size.some((v) => v > 1);
      this.aicX = new Float64Array(n);
      this.aicN = new Float64Array(n);
      this.aicF = new Float64Array(n);
      this.aicOn = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const m = big ? size[i] : weights[i];
        if (!(m > 0)) continue;
        this.aicOn[i] = 1;
        this.aicX[i] = Math.round(m * y[i]);
        this.aicN[i] = Math.round(m);
        this.aicF[i] = weights[i] / m;
      }
      binaryAic = this.aicN.every((v, i) => v === 1 || !this.aicOn![i]);
      if (!binaryAic) {
        // dbinomLog's terms that depend on x and n only, for 0 < x < n
        this.aicSt = new Float64Array(n);
        this.aicLf = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const xi = this.aicX[i], ni = this.aicN[i];
          if (!this.aicOn[i] || !(xi > 0 && xi < ni)) continue;
          this.aicSt[i] = stirlerr(ni) - stirlerr(xi) - stirlerr(ni - xi);
          this.aicLf[i] = LN_2PI + Math.log(xi) + Math.log1p(-xi / ni);
        }
      }
    } else if (y.every((v) => Number.isInteger(v))) {
      this.poisSt = new Float64Array(n);
      this.poisC = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (y[i] === 0) continue;
        this.poisSt[i] = -stirlerr(y[i]);
        this.poisC[i] = 0.5 * Math.log(2 * Math.PI * y[i]);
      }
    }
    this.binaryAic = binaryAic;
    const sameX = (x: Float64Array) => x.every((v, i) => v === y[i] || !this.aicOn![i]);
    const keep = this.kind === LOGIT_BINOMIAL
      ? this.binaryY && binaryAic && sameX(this.aicX!)
      : this.kind === LOG_POISSON && this.poisSt !== undefined;
    this.keepLogs = keep;
    // large models of the two fused kinds: the row arrays in a shared
    // buffer, each pass in chunks on two threads where possible
    this.fused = this.kind === LOGIT_BINOMIAL && this.binaryY
      ? "logit"
      : this.kind === LOG_POISSON
      ? "poisson"
      : undefined;
    const poissonAic = this.poisSt && this.poisC ? { st: this.poisSt, c: this.poisC } : undefined;
    // the design too, unless it is wide (then η is formed on this thread)
    const d = design && { ...design, poissonAic };
    this.shared = this.fused && n >= ROW_THREADS_MIN
      ? new SharedRows(
        y,
        weights,
        d && designBytesPerRow(d) <= DESIGN_SHARE_MAX_BYTES ? d : undefined,
      )
      : undefined;
    this.logs = this.shared ? this.shared.v.logs : new Float64Array(keep ? n : 0);
    this.ex = this.shared
      ? this.shared.v.ex
      : new Float64Array(this.kind === LOGIT_BINOMIAL ? n : 0);
    // the Poisson aic's constants: the shared copy only (the same numbers)
    const pc = this.shared?.design?.poissonAic;
    if (pc) {
      this.poisSt = pc.st;
      this.poisC = pc.c;
    }
  }

  /**
   * Buffers for PIRLS's two alternating η iterates and μ that
   * {@link evaluate} reads and writes in place, and for the base, working
   * weights and working response that {@link working} reads and writes in
   * place (no copies), in a large model whose rows are shared with the row
   * helper; undefined otherwise.
   */
  rowBuffers():
    | {
      eta: [Float64Array, Float64Array];
      mu: Float64Array;
      base: Float64Array;
      w: Float64Array;
      z: Float64Array;
    }
    | undefined {
    const sh = this.shared;
    if (!sh) return undefined;
    const v = sh.v;
    return { eta: [v.eta[0], v.eta[1]], mu: v.mu, base: v.base, w: v.w, z: v.z };
  }

  /**
   * Before writing into {@link rowBuffers}'s arrays outside {@link evaluate},
   * {@link evaluateFormed} and {@link working}: wait until the row helper
   * can no longer be running a job of these rows that was cut off.
   */
  settle(): void {
    this.shared?.settle();
  }

  /**
   * Whether {@link evaluateFormed} forms η in the row pass (a large model
   * of the fused kinds with its design shared).
   */
  get formsEta(): boolean {
    return this.shared?.design != null;
  }

  /**
   * {@link evaluate} at η = base + Zb, or base + Xβ + Zb with `beta`,
   * formed in the same chunks as the pass (by {@link xbRows} and
   * {@link zbRows}: the numbers of forming it first) into `eta`, which
   * must be one of {@link rowBuffers}'s two η arrays, as `mu` its μ and
   * `base` its base; only when {@link formsEta}.
   */
  evaluateFormed(
    eta: Float64Array,
    mu: Float64Array,
    base: Float64Array,
    b: Float64Array,
    beta?: ArrayLike<number>,
  ): number {
    const sh = this.shared, fused = this.fused;
    const which = sh ? sh.v.eta.indexOf(eta) : -1;
    if (!sh || !fused || !sh.design || which < 0 || which > 1 || mu !== sh.v.mu) {
      throw new Error("evaluateFormed needs the shared rows' own buffers");
    }
    if (base !== sh.v.base) sh.v.base.set(base);
    this.#mu = mu;
    this.#logsValid = false;
    const dev = sh.pass(fused, this.keepLogs, which, b, beta);
    this.#logsValid = this.keepLogs;
    return dev;
  }

  /**
   * μ at η (into `mu`) and Σ of the unit deviances; remembers what
   * {@link working} needs (`mu` itself, logit's e^η, or the family's μ′,
   * V(μ) and y − μ).
   */
  evaluate(eta: Float64Array, mu: Float64Array): number {
    const { n, y, wt, ex } = this;
    this.#mu = mu;
    this.#logsValid = false;
    let dev = 0;
    const keep = this.keepLogs;
    // logit with 0/1 responses, and Poisson: the row kernels of
    // row_threads.ts (μ first and the deviance residuals in a second pass:
    // the same numbers, but a loop with one call of Math.exp or Math.log per
    // row runs ~1.5× faster than one with both). R's binomial dev.resids
    // take log(1/s), s = y·μ + (1−y)·(1−μ) (μ or 1−μ exactly); −log(s) is
    // the same number to the last bit or two, and log(s) is what the
    // binomial aic takes at the end of PIRLS (kept in `logs` for
    // aicAtLast(): one logarithm per row fewer per PIRLS run). The sum only
    // decides PIRLS's convergence and step halving (and is lme4's
    // deviance(m)); the optimizer's Laplace deviance takes the aic
    const fused = this.fused, sh = this.shared;
    if (sh && fused) {
      dev = sh.pass(fused, keep, etaSlot(sh, eta));
      if (mu !== sh.v.mu) mu.set(sh.v.mu);
    } else if (fused === "logit") {
      dev = logitBinaryRows(eta, mu, ex, y, wt, this.logs, keep, 0, n);
    } else if (fused === "poisson") {
      dev = logPoissonRows(eta, mu, y, wt, this.logs, keep, 0, n);
    }
    if (fused) {
      this.#logsValid = keep;
      return dev;
    }
    if (this.kind === LOGIT_BINOMIAL) {
      // R's logit linkinv and mu.eta share one exp (μ′ follows in working())
      logitMuRows(eta, mu, ex, 0, n);
      // binomial dev.resids: 2 wt (y log(y/μ) + (1−y) log((1−y)/(1−μ)))
      for (let i = 0; i < n; i++) {
        const m = mu[i], yi = y[i], y1 = 1 - yi;
        dev += 2 * wt[i] *
          ((yi !== 0 ? yi * Math.log(yi / m) : 0) + (y1 !== 0 ? y1 * Math.log(y1 / (1 - m)) : 0));
      }
      return dev;
    }
    for (let i = 0; i < n; i++) dev += this.genericRow(i, eta[i], mu);
    return dev;
  }

  /** One row by the family's functions, as R computes it. */
  private genericRow(i: number, et: number, mu: Float64Array): number {
    const f = this.family;
    const m = f.linkinv(et);
    const mp = f.muEta(et);
    mu[i] = m;
    this.me[i] = mp;
    this.v[i] = f.variance(m);
    this.res[i] = this.y[i] - m;
    return f.devResid(this.y[i], m, this.wt[i]);
  }

  /**
   * The working weights w = prior weight · μ′²/V(μ) and working response
   * z = η − base + (y − μ)/μ′ at the last {@link evaluate} (`eta` must
   * hold the values evaluated and its `mu` be unchanged); without `base`,
   * z is (y − μ)/μ′ alone. The arithmetic is R's, operation for operation.
   */
  working(
    eta: Float64Array,
    base: Float64Array | undefined,
    w: Float64Array,
    z: Float64Array,
  ): void {
    const { n, wt, y, ex, me, v, res } = this;
    const mu = this.#mu;
    const sh = this.shared, fused = this.fused;
    if (sh && fused) {
      // a large model: the rows in chunks on two threads, reading η and
      // the base in place when they are rowBuffers()'s
      const sv = sh.v;
      const which = etaSlot(sh, eta);
      if (base && base !== sv.base) sv.base.set(base);
      sh.working(fused, which, base !== undefined);
      if (w !== sv.w) w.set(sv.w);
      if (z !== sv.z) z.set(sv.z);
      return;
    }
    if (this.kind === LOGIT_BINOMIAL) {
      // R's mu.eta (from the exp evaluate() kept), variance and weights
      logitWorkingRows(eta, base ?? null, mu, ex, y, wt, w, z, 0, n);
      return;
    }
    if (this.kind === LOG_POISSON) {
      // μ′ = V(μ) = μ
      poissonWorkingRows(eta, base ?? null, mu, y, wt, w, z, 0, n);
      return;
    }
    for (let i = 0; i < n; i++) w[i] = (wt[i] * me[i] * me[i]) / v[i];
    if (base) { for (let i = 0; i < n; i++) z[i] = eta[i] - base[i] + res[i] / me[i]; }
    else for (let i = 0; i < n; i++) z[i] = res[i] / me[i];
  }

  /**
   * {@link aic} at the μ of the last {@link evaluate} (which must be
   * unchanged since), the same number: where that evaluation kept its
   * logarithms (`logs`), they replace the aic's own.
   */
  aicAtLast(): number {
    const sh = this.shared, fused = this.fused;
    if (sh && fused && this.#logsValid && this.#mu === sh.v.mu && sh.design) {
      // a large model whose last pass kept its logarithms: the per-row
      // terms on two threads (the same terms, summed here in row order)
      if (fused === "logit" || sh.design.poissonAic) return sh.aic(fused, true);
    }
    return this.aic(this.#mu, this.#logsValid ? this.logs : undefined);
  }

  /**
   * The family's aic at μ (R's `family$aic` without its + 2k): the same
   * terms summed in the same order as {@link GlmFamily.aic}, with the
   * per-row constants computed once.
   */
  aic(mu: Float64Array, logs?: Float64Array): number {
    const { n, y, wt } = this;
    // logs: the logarithms evaluate() kept at this μ (aicAtLast), read
    // where the sum would take the same ones
    let s = 0;
    if (this.aicF) {
      const x = this.aicX!, nn = this.aicN!, f = this.aicF, on = this.aicOn!;
      if (this.binaryAic) {
        // dbinomLog(x, 1, p) for x ∈ {0, 1}, by binaryLogDensity inside (0, 1)
        for (let i = 0; i < n; i++) {
          if (!on[i]) continue;
          const p = mu[i];
          s += f[i] *
            (p > 0 && p < 1 ? binaryLogDensity(x[i], p, logs ?? null, i) : dbinomLog(x[i], 1, p));
        }
        return -2 * s;
      }
      const st = this.aicSt!, lf = this.aicLf!;
      for (let i = 0; i < n; i++) {
        if (!on[i]) continue;
        const xi = x[i], ni = nn[i], p = mu[i], q = 1 - p;
        if (!(xi > 0 && xi < ni && p !== 0 && q !== 0)) {
          s += f[i] * dbinomLog(xi, ni, p);
          continue;
        }
        // dbinomLog's general case with its constant terms read
        const lc = st[i] - bd0(xi, ni * p) - bd0(ni - xi, ni * q);
        s += f[i] * (lc - 0.5 * lf[i]);
      }
      return -2 * s;
    }
    const st = this.poisSt, c = this.poisC;
    if (st && c) {
      // dpoisLog's terms with its constants read, not recomputed
      for (let i = 0; i < n; i++) {
        s += poissonLogDensity(y[i], mu[i], st[i], c[i], logs?.[i]) * wt[i];
      }
      return -2 * s;
    }
    for (let i = 0; i < n; i++) s += dpoisLog(y[i], mu[i]) * wt[i];
    return -2 * s;
  }
}

/**
 * Which of the shared η arrays holds `eta`: one of PIRLS's two iterates in
 * place, or else the third, `eta` copied into it.
 */
function etaSlot(sh: SharedRows, eta: Float64Array): number {
  const which = sh.v.eta.indexOf(eta);
  if (which === 0 || which === 1) return which;
  sh.v.eta[2].set(eta);
  return 2;
}
