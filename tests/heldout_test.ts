/**
 * "Never worse than lme4" (issue 11) on a held-out set: every fit in
 * tests/fixtures/heldout.json (written by heldout.R with lme4 1.1-31: 69
 * REML and ML fits on 39 real datasets from nlme, MASS, mlmRev, lme4 and R's
 * datasets, none used by the other fixtures). Our default lmer (which
 * restarts the optimizer when lme4's gradient check fails) must reach a
 * criterion (REMLcrit or deviance) at most lme4's + 1e-7 relative. Where ours
 * is lower by more than 1e-7 relative the fit must be one of KNOWN_BETTER
 * (also listed in tests/fixtures/README.md), at the recorded criterion.
 * θ agreement is reported (tests/bench/heldout_report.ts), not asserted.
 */
import assert from "node:assert/strict";
import { classify, compareHeldout, heldoutFixture } from "./helpers/heldout.ts";

const fx = heldoutFixture();

/**
 * Fits where we end lower than lme4 by more than 1e-7 relative: id → our
 * criterion (checked to 1e-6 absolute). In every one lme4's default stops
 * short (failed gradient check), and lme4's own devfun at our θ, and
 * lme4 with optimizer "bobyqa" (minqa) or "Nelder_Mead", give our value
 * (the fixture's alt_criterion).
 */
const KNOWN_BETTER: Readonly<Record<string, number>> = {
  // lme4 1178.587077 (max|grad| 0.036)
  bodyweight_two_terms_ML: 1178.586403078,
  // lme4 1165.858510 (max|grad| 0.026)
  bodyweight_slope_interaction_ML: 1165.858160134,
  // lme4 -77.072476 (max|grad| 0.012)
  assay_crossed_REML: -77.072552636,
  // lme4 179.285624 (max|grad| 13.9, very large eigenvalue; Time is 152..258 days)
  sitka_slope_REML: 125.021428659,
  // lme4 158.330625 (max|grad| 12.2, very large eigenvalue)
  sitka_slope_ML: 105.565249644,
};

/**
 * Fits where we end WORSE than lme4 by more than 1e-7 relative: id → our
 * criterion when recorded. The test still fails if one gets worse than this
 * (by more than 1e-6). Empty: no held-out fit is worse than lme4.
 */
const KNOWN_WORSE: Readonly<Record<string, number>> = {};

Deno.test("heldout.json holds at least 40 fits on real datasets, REML and ML", () => {
  const { models, datasets } = fx;
  assert.ok(models.length >= 40, `${models.length} fits`);
  assert.equal(new Set(models.map((m) => m.id)).size, models.length, "ids are unique");
  assert.ok(models.some((m) => m.REML) && models.some((m) => !m.REML));
  const names = new Set(datasets.map((d) => d.name));
  for (const m of models) assert.ok(names.has(m.data), `${m.id}: dataset ${m.data}`);
  for (const d of datasets) {
    for (const [k, c] of Object.entries(d.data)) assert.equal(c.length, d.nrow, `${d.name}.${k}`);
  }
  assert.ok(datasets.some((d) => Object.values(d.data).some((c) => c.includes(null))), "NAs");
  for (const id of [...Object.keys(KNOWN_BETTER), ...Object.keys(KNOWN_WORSE)]) {
    assert.ok(models.some((m) => m.id === id), `listed fit ${id} exists`);
  }
});

for (const m of fx.models) {
  Deno.test(`heldout ${m.id}: ${m.formula} is never worse than lme4`, () => {
    const c = compareHeldout(fx, m);
    const cls = classify(c.rel);
    const detail = `ours ${c.ours}, lme4 ${c.lme4} (rel ${c.rel.toExponential(3)}), ` +
      `messages ${JSON.stringify(c.messages)}, restarts ${JSON.stringify(c.restarts)}`;
    const worse = KNOWN_WORSE[m.id];
    if (worse !== undefined) {
      // a known shortfall: may improve, must not get worse than recorded
      assert.ok(c.ours <= worse + 1e-6, `${m.id} got worse than recorded ${worse}: ${detail}`);
      return;
    }
    assert.notEqual(cls, "worse", `${m.id} worse than lme4: ${detail}`);
    const better = KNOWN_BETTER[m.id];
    if (cls === "better") {
      assert.ok(
        better !== undefined,
        `${m.id} better than lme4 but not in KNOWN_BETTER: ${detail}`,
      );
      assert.ok(Math.abs(c.ours - better) <= 1e-6, `${m.id}: ${detail} vs recorded ${better}`);
    } else {
      assert.equal(better, undefined, `${m.id} is in KNOWN_BETTER but ${cls}: ${detail}`);
    }
    assert.ok(!Number.isNaN(c.thetaMaxAbs), "θ has lme4's length");
  });
}
