/**
 * confint against lme4 1.1-31 (tests/fixtures/confint.json, written by
 * confint.R): Wald intervals within 1e-6, profile intervals within 2e-3
 * (absolute) of confint(m, method = "profile"); the parametric bootstrap is
 * reproducible for a seed, sane, and, run with lme4's refit criterion, equal
 * to lme4's own bootstrap up to the optimizer's noise. Singular fits: the
 * zero-variance component's message.
 */
import assert from "node:assert/strict";
import { fitCache } from "./helpers/lmerFixture.ts";
import type { Cell } from "../lib/data/frame.ts";
import { fixture } from "./helpers/datasets.ts";
import {
  confint,
  confintAsync,
  confintResult,
  confintResultAsync,
} from "../lib/inference/confint.ts";
import {
  parameterNames,
  qchisqUpper,
  sdcorToTheta,
  thetaToSdcor,
} from "../lib/inference/profile.ts";
import {
  bootConfint,
  bootMer,
  bootMerAsync,
  percentileInterval,
  progressBundle,
} from "../lib/inference/bootstrap.ts";
import { JUPYTER_DISPLAY } from "../lib/display/bundle.ts";

type Num = number | null;
interface ModelFx {
  id: string;
  formula: string;
  REML: boolean;
  dataset?: string;
  data?: Record<string, Cell[]>;
  isSingular: boolean;
  parameters: string[];
  wald: { lower: Num[]; upper: Num[] };
  wald_level90: { lower: Num[]; upper: Num[] };
  profile: { lower: Num[]; upper: Num[] };
  profile_level90: { lower: Num[]; upper: Num[] };
  profile_seconds: number;
  profile_warnings: string[];
  profile_points: Record<string, { value: number[]; zeta: number[] }>;
}
interface BootFx {
  model: string;
  nsim: number;
  seed: number;
  level: number;
  lower: number[];
  upper: number[];
  t: number[][];
  t0: number[];
}
const fx = fixture<{ models: ModelFx[]; boot: BootFx[] }>("confint.json");

const fit = fitCache(fx.models);
const na = (v: Num) => v ?? NaN;

/** |a − b| ≤ tol, with NA (NaN) equal to NA and Inf to Inf. */
function near(a: number, b: number, tol: number, what: string) {
  if (Number.isNaN(b) || !Number.isFinite(b)) {
    assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what}: ${a} vs ${b}`);
    return;
  }
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs lme4 ${b} (diff ${Math.abs(a - b)})`);
}

for (const m of fx.models) {
  Deno.test(`confint Wald ${m.id} agrees with lme4 to 1e-6`, () => {
    const f = fit(m.id);
    for (const [level, ref] of [[0.95, m.wald], [0.9, m.wald_level90]] as const) {
      const r = confintResult(f, { method: "Wald", level });
      assert.deepEqual(r.rows.map((x) => x.parameter), m.parameters);
      r.rows.forEach((row, k) => {
        near(row.lower, na(ref.lower[k]), 1e-6, `${row.parameter} lower (${level})`);
        near(row.upper, na(ref.upper[k]), 1e-6, `${row.parameter} upper (${level})`);
      });
    }
  });

  Deno.test(`confint profile ${m.id} agrees with lme4 to 2e-3`, () => {
    const f = fit(m.id);
    const r = confintResult(f, { method: "profile" });
    assert.deepEqual(r.rows.map((x) => x.parameter), m.parameters);
    r.rows.forEach((row, k) => {
      near(row.lower, na(m.profile.lower[k]), 2e-3, `${row.parameter} lower`);
      near(row.upper, na(m.profile.upper[k]), 2e-3, `${row.parameter} upper`);
    });
    // the same grid as lme4: as many points per parameter
    for (const pr of r.profile!.profiles) {
      assert.equal(pr.points.length, m.profile_points[pr.name].zeta.length, `${pr.name} points`);
    }
    // lme4's warnings (e.g. Clark's non-monotonic .sig02) are reported too
    for (const w of m.profile_warnings.filter((w) => /profile for|bad spline/.test(w))) {
      assert.ok(r.messages.includes(w), `missing message '${w}' in ${r.messages}`);
    }
    // another level from the same profile
    const c90 = r.profile!.confint(0.9).rows;
    c90.forEach((row, k) => {
      near(row.lower, na(m.profile_level90.lower[k]), 2e-3, `${row.parameter} lower 90%`);
      near(row.upper, na(m.profile_level90.upper[k]), 2e-3, `${row.parameter} upper 90%`);
    });
  });
}

Deno.test("profile: REML fits are profiled by ML, as lme4 (same intervals as the ML fit)", () => {
  const reml = confintResult(fit("sleepstudy_slope_REML"), { method: "profile" }).rows;
  const ml = confintResult(fit("sleepstudy_slope_ML"), { method: "profile" }).rows;
  reml.forEach((r, k) => near(r.lower, ml[k].lower, 2e-3, r.parameter));
});

Deno.test("confint on a singular fit: zero-variance component is [0, upper] with a clear message", () => {
  const f = fit("dyestuff2_REML");
  assert.ok(f.isSingular());
  for (const method of ["profile", "Wald", "boot"] as const) {
    const r = confintResult(f, { method, nsim: 30, seed: 1 });
    const sig = r.messages.find((s) => s.startsWith(".sig01"));
    assert.ok(sig, `${method}: no message about .sig01 in ${JSON.stringify(r.messages)}`);
    assert.match(sig, /sd_\(Intercept\)\|Batch\) is estimated as 0 \(boundary, singular fit\)/);
    if (method === "profile") {
      assert.equal(r.rows[0].lower, 0);
      assert.match(sig, /lower limit reported is the boundary 0/);
    }
    if (method === "Wald") assert.ok(Number.isNaN(r.rows[0].lower));
  }
  // asking only for that parameter gives the same row and message
  const only = confintResult(f, { method: "profile", parm: [".sig01"] });
  assert.equal(only.rows.length, 1);
  assert.equal(only.rows[0].lower, 0);
  assert.ok(only.messages.some((s) => s.startsWith(".sig01")));
  // confint() prints the messages as warnings, unless quiet
  const warned: string[] = [];
  const orig = console.warn;
  console.warn = (...a: unknown[]) => warned.push(a.join(" "));
  try {
    confint(f, { method: "Wald" });
    assert.ok(warned.some((w) => w.includes("singular fit")));
    warned.length = 0;
    confint(f, { method: "Wald", quiet: true });
    assert.equal(warned.length, 0);
  } finally {
    console.warn = orig;
  }
});

Deno.test("confint DataFrame: parameter, 2.5 %, 97.5 %; NA rows null; lme4's names", () => {
  const f = fit("sleepstudy_slope_REML");
  const df = confint(f, { method: "Wald" });
  assert.deepEqual(df.columns, ["parameter", "2.5 %", "97.5 %"]);
  assert.deepEqual(confint(f, { method: "Wald", level: 0.9 }).columns, [
    "parameter",
    "5 %",
    "95 %",
  ]);
  // Displayed as R prints the confint matrix: parameters as row names, NA.
  const text = (df as unknown as Record<symbol, () => { "text/plain": string }>)[
    JUPYTER_DISPLAY
  ]()["text/plain"];
  assert.match(text, /^\s+2\.5 %\s+97\.5 %\n\.sig01\s+NA\s+NA\n/);
  const rec = df.toRecords();
  assert.deepEqual(rec.map((r) => r.parameter), [
    ".sig01",
    ".sig02",
    ".sig03",
    ".sigma",
    "(Intercept)",
    "Days",
  ]);
  assert.equal(rec[0]["2.5 %"], null);
  assert.equal(typeof rec[4]["2.5 %"], "number");
  assert.deepEqual(parameterNames(f).map((p) => p.label), [
    "sd_(Intercept)|Subject",
    "cor_Days.(Intercept)|Subject",
    "sd_Days|Subject",
    "sigma",
    "(Intercept)",
    "Days",
  ]);
  // parm selection, groups, and the display
  const sub = confintResult(f, { method: "Wald", parm: ["beta_"] });
  assert.deepEqual(sub.rows.map((r) => r.parameter), ["(Intercept)", "Days"]);
  const b = sub[JUPYTER_DISPLAY]();
  assert.match(b["text/plain"], /2\.5 %\s+97\.5 %/);
  assert.match(b["text/html"] ?? "", /<table/);
});

Deno.test("confint: bad options are clear errors", () => {
  const f = fit("dyestuff_REML");
  assert.throws(() => confintResult(f, { level: 1.2 }), /level must be in \(0, 1\)/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => confintResult(f, { method: "bogus" as any }),
    /unknown method 'bogus'/,
  );
  assert.throws(() => confintResult(f, { parm: [".sig09"] }), /unknown parameter '.sig09'/);
  assert.throws(() => confintResult(f, { method: "boot", nsim: 0 }), /nsim must be a positive/);
});

Deno.test("sdcor <-> theta maps are inverse (lme4's Cv_to_Sv / Sv_to_Cv)", () => {
  const f = fit("sleepstudy_slope_REML");
  const sd = thetaToSdcor(f.lmm.terms, f.theta, f.sigma);
  assert.equal(sd.length, 4);
  near(sd[3], f.sigma, 0, "sigma appended");
  const th = sdcorToTheta(f.lmm.terms, sd, f.sigma);
  th.forEach((v, k) => near(v, f.theta[k], 1e-12, `theta ${k}`));
  // a correlation of exactly 1 (semi-definite): pivoted Cholesky, still Σ
  const th1 = sdcorToTheta(f.lmm.terms, [2, 1, 3], 1);
  near(th1[0] * th1[0], 4, 1e-12, "var1");
  near(th1[0] * th1[1], 6, 1e-12, "cov");
  near(th1[1] * th1[1] + th1[2] * th1[2], 9, 1e-12, "var2");
});

Deno.test("lme4's profile cutoff: qchisq(0.99, df)", () => {
  // R: sprintf("%.17g", qchisq(0.99, c(2, 4, 6)))
  near(qchisqUpper(0.01, 2), 9.2103403719761818, 1e-12, "df 2");
  near(qchisqUpper(0.01, 4), 13.276704135987622, 1e-12, "df 4");
  near(qchisqUpper(0.01, 6), 16.811893829770927, 1e-12, "df 6");
});

// --- bootstrap ---------------------------------------------------------------

Deno.test("bootstrap: same seed, same intervals; another seed, others", () => {
  const f = fit("sleepstudy_slope_REML");
  const a = confintResult(f, { method: "boot", nsim: 40, seed: 11 });
  const b = confintResult(f, { method: "boot", nsim: 40, seed: 11 });
  const c = confintResult(f, { method: "boot", nsim: 40, seed: 12 });
  assert.deepEqual(a.rows, b.rows);
  assert.notDeepEqual(a.rows, c.rows);
  assert.equal(a.boot!.t.length, 40);
});

Deno.test("bootstrap: percentile intervals contain the estimates (nsim = 100)", () => {
  const f = fit("sleepstudy_slope_REML");
  const r = confintResult(f, { method: "boot", nsim: 100, seed: 2024 });
  const t0 = r.boot!.t0;
  r.rows.forEach((row, k) => {
    assert.ok(row.lower < t0[k] && t0[k] < row.upper, `${row.parameter}: ${t0[k]} not in interval`);
  });
  // and they are close to the profile intervals (the same model, a different method)
  const pr = confintResult(f, { method: "profile" }).rows;
  r.rows.forEach((row, k) => {
    const w = pr[k].upper - pr[k].lower;
    assert.ok(
      Math.abs(row.upper - pr[k].upper) < 0.5 * w,
      `${row.parameter} upper far from profile`,
    );
  });
});

for (const b of fx.boot) {
  Deno.test(`bootstrap ${b.model} with lme4's refit equals lme4's bootMer (same seed)`, () => {
    const f = fit(b.model);
    const r = bootMer(f, { nsim: b.nsim, seed: b.seed, lme4Refit: true });
    r.t0.forEach((v, k) => near(v, b.t0[k], 1e-4 * Math.max(1, Math.abs(b.t0[k])), `t0 ${k}`));
    // lme4's own refits stop early now and then (one of sleepstudy's 20 has a
    // convergence warning), so sleepstudy is compared at 1e-3 relative
    const rel = b.model.startsWith("sleepstudy") ? 1e-3 : 1e-5;
    b.t.forEach((row, s) =>
      row.forEach((v, k) => near(r.t[s][k], v, rel * Math.max(1, Math.abs(v)), `t[${s}, ${k}]`))
    );
    const ci = bootConfint(r, b.level).rows;
    ci.forEach((row, k) => {
      near(
        row.lower,
        b.lower[k],
        rel * Math.max(1, Math.abs(b.lower[k])),
        `${row.parameter} lower`,
      );
      near(
        row.upper,
        b.upper[k],
        rel * Math.max(1, Math.abs(b.upper[k])),
        `${row.parameter} upper`,
      );
    });
  });
}

Deno.test("percentile intervals follow boot's norm.inter", () => {
  const t = Array.from({ length: 19 }, (_, i) => 19 - i); // 19..1, unsorted
  // (R + 1)α = 1 and 19: the extremes exactly
  assert.deepEqual(percentileInterval(t, 0.9), [1, 19]);
  // R = 10, level 0.8: rk = 1.1 and 9.9, interpolated on the normal scale
  // R: sprintf("%.15g", boot:::norm.inter(1:10, c(.1, .9))[, 2])
  const [lo, hi] = percentileInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.8);
  near(lo, 1.12567066745278, 1e-12, "lo");
  near(hi, 9.87432933254722, 1e-12, "hi");
  // non-finite values (failed refits) are dropped
  assert.deepEqual(percentileInterval([...t, NaN], 0.9), [1, 19]);
});

Deno.test("bootstrap progress: onProgress, async variant, one Jupyter display updated in place", async () => {
  const f = fit("dyestuff_REML");
  const seen: number[] = [];
  const sync = bootMer(f, {
    nsim: 25,
    seed: 5,
    onProgress: (k, n) => (assert.equal(n, 25), seen.push(k)),
  });
  assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => i + 1));
  // outside a notebook the async variant just runs, with the same numbers
  const asyncRes = await bootMerAsync(f, { nsim: 25, seed: 5 });
  assert.deepEqual(asyncRes.t, sync.t);
  // inside a kernel (Deno.jupyter there; a stub with its display() here)
  const calls: { update?: boolean; display_id?: string; text: string }[] = [];
  const display = (
    obj: unknown,
    o: { raw?: boolean; update?: boolean; display_id?: string } = {},
  ) => {
    calls.push({ ...o, text: (obj as { "text/plain": string })["text/plain"] });
    return Promise.resolve();
  };
  const r = await confintResultAsync(f, {
    method: "boot",
    nsim: 25,
    seed: 5,
    display: { display },
  });
  assert.deepEqual(r.boot!.t, sync.t);
  const df = await confintAsync(f, { method: "Wald" });
  assert.equal(df.height, 3);
  assert.ok(calls.length >= 2);
  assert.equal(calls[0].update, false);
  assert.ok(calls.slice(1).every((c) => c.update === true));
  assert.ok(calls.every((c) => c.display_id === calls[0].display_id));
  assert.match(calls[calls.length - 1].text, /25\/25 refits \(100%\).*done/);
  assert.match(progressBundle(5, 20, 1)["text/html"], /width:25%/);
});
