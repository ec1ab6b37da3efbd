/**
 * Parametric bootstrap of a linear mixed model, as lme4's `bootMer` with
 * the statistic `confint(m, method = "boot")` uses (sds and correlations,
 * σ, fixed effects), and percentile intervals as `boot::boot.ci(type =
 * "perc")` computes them.
 *
 * Reproducibility: the draws follow lme4's order exactly (after
 * `set.seed(seed)`: the random effects of all nsim simulations, then the
 * noise, simulation by simulation), so the same seed gives the same
 * simulated responses as R, and the same intervals on every run.
 *
 * Cost: one refit per replicate on a {@link RefitCore}: only the y parts of
 * the cross-products are rewritten (O(n·(p + Σq))), then θ is re-optimised
 * from θ̂ (lme4's `refit`), so a replicate costs one optimisation of the
 * profiled criterion, with no new design or symbolic factorization.
 *
 * Progress: `onProgress(done, total)` after each replicate; and
 * {@link bootMerAsync}, run in a Deno Jupyter kernel, shows one progress
 * display and updates it in place (the kernel only sends messages when the
 * code yields, so only the async variant can show live progress).
 *
 * @example
 * ```ts ignore
 * const b = bootMer(m, { nsim: 500, seed: 1 });
 * bootConfint(b, 0.95).rows; // percentile intervals, lme4's names
 * ```
 * @module
 */

import { qnorm } from "../rng/mod.ts";
import { RefitCore } from "../models/lmer/refit.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { fixedPredictor, responseFrom, streamFor } from "../simulate/simulateMerMod.ts";
import { checkSimulationSize } from "../simulate/simulations.ts";
import { type ConfintRow, parameterNames, thetaToSdcor } from "./profile.ts";
import type { BootAsyncOptions, BootOptions, JupyterDisplay } from "../models/lmer/extensions.ts";

export type { BootAsyncOptions, BootOptions, JupyterDisplay } from "../models/lmer/extensions.ts";

/** Result of a parametric bootstrap (lme4's `bootMer` object, in part). */
export interface BootResult {
  /** lme4's parameter names (".sig01", …, ".sigma", fixed effects). */
  readonly names: readonly string[];
  /** The statistic at the fit. */
  readonly t0: Float64Array;
  /** One row per replicate (NaN where the refit failed). */
  readonly t: readonly Float64Array[];
  /** Number of replicates. */
  readonly nsim: number;
  /** Number of refits that failed. */
  readonly failures: number;
  /** Messages as lme4 collects them (singular refits, failures, optimizer warnings). */
  readonly messages: readonly string[];
  /** Wall time, seconds. */
  readonly seconds: number;
  /** Mean time of one replicate (simulation + refit), milliseconds. */
  readonly msPerReplicate: number;
  /** Criterion evaluations of all refits (each replicate is one optimisation). */
  readonly evaluations: number;
}

/** lme4's bootstrap statistic: sdcor(θ, σ), σ, β. */
function statistic(
  model: LinearMixedModel,
  theta: ArrayLike<number>,
  sigma: number,
  beta: ArrayLike<number>,
): Float64Array {
  const sd = thetaToSdcor(model.lmm.terms, theta, sigma);
  const out = new Float64Array(sd.length + beta.length);
  out.set(sd);
  out.set(Array.from(beta), sd.length);
  return out;
}

/**
 * The bootstrap as a sequence of steps (one replicate each), shared by the
 * synchronous and the asynchronous driver.
 */
function* replicates(
  model: LinearMixedModel,
  options: BootOptions,
): Generator<number, BootResult, void> {
  const nsim = checkBootNsim(model, options.nsim ?? 500);
  if (model.lmm.weights || model.lmm.offset) {
    throw new Error(
      "the parametric bootstrap is not available yet for models with prior weights or an offset",
    );
  }
  const t0 = performance.now();
  const stream = streamFor(options);
  const n = model.nobs, q = model.lmm.q;
  const names = parameterNames(model).map((p) => p.name);
  const stat0 = statistic(model, model.theta, model.sigma, model.solution.beta);
  const params = { theta: model.theta, beta: model.solution.beta, sigma: model.sigma };
  // lme4's simulate(): the random effects of all simulations first ...
  const u = stream.rnorm(q * nsim);
  const eta = fixedPredictor(model, params.beta);
  const core = RefitCore.fromModel(model);
  const y = new Float64Array(n);
  const t: Float64Array[] = [];
  let failures = 0, singular = 0, evaluations = 0;
  const errors = new Map<string, number>();
  const warnings = new Map<string, number>();
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let s = 0; s < nsim; s++) {
    // ... then the noise, simulation by simulation (the same stream order)
    const e = stream.rnorm(n);
    responseFrom(model, params, eta, u.subarray(s * q, s * q + q), e, y);
    try {
      core.setResponse(y);
      const r = core.fit({
        reml: model.REML,
        start: model.theta,
        remlP: options.lme4Refit ? 1 : undefined,
      });
      evaluations += r.feval;
      if (r.code < 0 || r.code === 5) count(warnings, `convergence code ${r.code} from BOBYQA`);
      if ([...core.lower].some((lb, k) => lb === 0 && r.theta[k] < 1e-4)) singular++;
      t.push(statistic(model, r.theta, r.sigma, r.beta));
    } catch (err) {
      failures++;
      count(errors, err instanceof Error ? err.message : String(err));
      t.push(new Float64Array(names.length).fill(NaN));
    }
    options.onProgress?.(s + 1, nsim);
    yield s + 1;
  }
  const messages: string[] = [];
  if (singular) {
    messages.push(`${singular} message(s): boundary (singular) fit: see help('isSingular')`);
  }
  for (const [w, k] of warnings) messages.push(`${k} warning(s): ${w}`);
  if (failures) {
    messages.push(`some bootstrap runs failed (${failures}/${nsim})`);
    for (const [w, k] of errors) messages.push(`${k} error(s): ${w}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    names,
    t0: stat0,
    t,
    nsim,
    failures,
    messages,
    seconds,
    msPerReplicate: (seconds * 1000) / nsim,
    evaluations,
  };
}

/**
 * The most replicates one bootstrap call runs: 1e6 (each is a refit, so
 * even at 1 ms that is 17 minutes; percentile intervals settle long
 * before). Run batches sharing one `rng` stream for more.
 */
export const MAX_BOOT_NSIM = 1e6;

/** nsim checked: a positive integer, at most {@link MAX_BOOT_NSIM}, its draws and results within memory. */
function checkBootNsim(model: LinearMixedModel, nsim: number): number {
  if (!(Number.isInteger(nsim) && nsim >= 1)) {
    throw new RangeError(`nsim must be a positive integer, got ${nsim}`);
  }
  if (nsim > MAX_BOOT_NSIM) {
    throw new RangeError(
      `bootMer: nsim = ${nsim} is more than the ${MAX_BOOT_NSIM.toExponential(0)} replicates ` +
        "one call runs (each replicate is a refit); run batches sharing one { rng } stream",
    );
  }
  // the random effects of all replicates are drawn first; one statistic row per replicate
  checkSimulationSize("bootMer", model.lmm.q + parameterNames(model).length, nsim);
  return nsim;
}

/**
 * Parametric bootstrap as lme4's `bootMer(m, FUN, nsim, seed)` with the
 * statistic of `confint(m, method = "boot")`: simulate nsim responses from
 * the fit (new random effects and noise), refit each from θ̂ (REML as the
 * fit), collect sds/correlations, σ and β.
 *
 * @example
 * ```ts ignore
 * const b = bootMer(m, { nsim: 200, seed: 42, onProgress: (k, n) => k % 50 || console.log(k, n) });
 * b.t.length; // 200
 * ```
 */
export function bootMer(model: LinearMixedModel, options: BootOptions = {}): BootResult {
  const it = replicates(model, options);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** `Deno.jupyter` inside a Jupyter kernel, else undefined (reading it elsewhere throws). */
function jupyter(): JupyterDisplay | undefined {
  try {
    const d = (globalThis as { Deno?: { jupyter?: JupyterDisplay } }).Deno;
    const j = d?.jupyter;
    return j && typeof j.display === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

let displayCounter = 0;

/**
 * A progress bundle: text and an HTML bar (inline styles survive sanitizers).
 *
 * @example
 * ```ts
 * import { progressBundle } from "./bootstrap.ts";
 * progressBundle(50, 200, 1.5)["text/plain"]; // "bootstrap: 50/200 refits (25%), 1.5 s, ~4.5 s left"
 * ```
 */
export function progressBundle(
  done: number,
  total: number,
  seconds: number,
): { "text/plain": string; "text/html": string } {
  const pct = Math.floor((100 * done) / total);
  const eta = done > 0 && done < total ? (seconds / done) * (total - done) : 0;
  const text = `bootstrap: ${done}/${total} refits (${pct}%), ${seconds.toFixed(1)} s` +
    (done === 0 ? ", starting" : done < total ? `, ~${eta.toFixed(1)} s left` : ", done");
  const html = `<div style="font-family:system-ui,sans-serif;font-size:12px">` +
    `<div style="display:inline-block;width:240px;height:10px;background:#eee;` +
    `vertical-align:middle;border-radius:2px">` +
    `<div style="width:${pct}%;height:10px;background:#4a7ab5;border-radius:2px"></div></div>` +
    ` <span>${text}</span></div>`;
  return { "text/plain": text, "text/html": html };
}

/**
 * {@link bootMer}, yielding to the event loop about every 100 ms, so that
 * in a Deno Jupyter notebook one progress display is shown and updated in
 * place (Deno.jupyter.display with a display_id). Same results as
 * {@link bootMer} for the same seed. Outside a kernel it just runs.
 *
 * @example
 * ```ts ignore
 * // in a notebook cell
 * const b = await bootMerAsync(m, { nsim: 1000, seed: 1 });
 * ```
 */
export async function bootMerAsync(
  model: LinearMixedModel,
  options: BootAsyncOptions = {},
): Promise<BootResult> {
  const jup = options.progress === false ? undefined : options.display ?? jupyter();
  const id = `deno-lmer-bootstrap-${++displayCounter}-${Date.now()}`;
  const t0 = performance.now();
  const total = checkBootNsim(model, options.nsim ?? 500);
  const show = async (done: number, update: boolean) => {
    if (!jup) return;
    try {
      const bundle = progressBundle(done, total, (performance.now() - t0) / 1000);
      await jup.display(bundle, { raw: true, update, display_id: id });
    } catch {
      // a display that fails must not stop the bootstrap
    }
  };
  const it = replicates(model, options);
  await show(0, false);
  let last = performance.now();
  for (;;) {
    const r = it.next();
    if (r.done) {
      await show(total, true);
      return r.value;
    }
    if (performance.now() - last > 100) {
      await show(r.value, true);
      // let the kernel send the message (and other tasks run) before going on
      await new Promise((resolve) => setTimeout(resolve, 0));
      last = performance.now();
    }
  }
}

/**
 * boot's percentile interval (`perc.ci` → `norm.inter`): order statistics
 * at (R + 1)·α of the finite values, interpolated on the normal quantile
 * scale between neighbours, the extremes when (R + 1)·α is outside 1..R.
 * Returns NaNs when there is no finite value.
 *
 * @example
 * ```ts
 * import { percentileInterval } from "./bootstrap.ts";
 * percentileInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.8); // [1.1257, 9.8743], as boot
 * ```
 */
export function percentileInterval(values: ArrayLike<number>, level = 0.95): [number, number] {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const t = Array.from(values).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const R = t.length;
  if (R === 0) return [NaN, NaN];
  const alpha = [(1 - level) / 2, (1 + level) / 2];
  const out = alpha.map((a) => {
    const rk = (R + 1) * a;
    const k = Math.trunc(rk);
    if (k === rk) return t[k - 1] ?? (k <= 0 ? t[0] : t[R - 1]);
    if (k === 0) return t[0];
    if (k === R) return t[R - 1];
    const z = qnorm(a), z1 = qnorm(k / (R + 1)), z2 = qnorm((k + 1) / (R + 1));
    const tk = t[k - 1], tk1 = t[k];
    return tk + ((z - z1) / (z2 - z1)) * (tk1 - tk);
  });
  return [out[0], out[1]];
}

/**
 * Percentile intervals from a bootstrap, as lme4's `confint(m, method =
 * "boot")` (boot.type "perc"). A parameter whose replicates are all equal
 * (e.g. an sd that is 0 in every refit) gets that value at both ends and a
 * message (boot.ci gives no interval there).
 *
 * @example
 * ```ts ignore
 * const { rows, messages } = bootConfint(bootMer(m, { nsim: 500, seed: 1 }), 0.95);
 * ```
 */
export function bootConfint(
  boot: BootResult,
  level = 0.95,
): { rows: ConfintRow[]; messages: string[] } {
  const messages = [...boot.messages];
  if (boot.failures === boot.nsim) throw new Error("*all* bootstrap runs failed!");
  const rows = boot.names.map((parameter, k) => {
    const col = boot.t.map((r) => r[k]);
    const fin = col.filter((v) => Number.isFinite(v));
    const mean = fin.reduce((s, v) => s + v, 0) / fin.length;
    // boot.ci's const(t, min(1e-8, mean/1e6)): every |t − mean| below eps
    // (so never for a mean ≤ 0: a column of zeros gets the interval [0, 0])
    const eps = Math.min(1e-8, mean / 1e6);
    if (fin.length && fin.every((v) => Math.abs(v - mean) < eps)) {
      messages.push(
        `all bootstrap values of ${parameter} equal ${mean}: no interval can be computed from them`,
      );
      return { parameter, lower: mean, upper: mean };
    }
    const [lower, upper] = percentileInterval(col, level);
    return { parameter, lower, upper };
  });
  return { rows, messages };
}
