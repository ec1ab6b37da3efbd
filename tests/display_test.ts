/**
 * Notebook display bundles: every model and summary gives text/plain in R's
 * layout and text/html tables with R's digits, and never the data-resource
 * MIME type (VS Code shows nothing for it).
 */
import assert from "node:assert/strict";
import { JUPYTER_DISPLAY, lm, lmer } from "../mod.ts";
import { dataset } from "./helpers/datasets.ts";

const d = dataset("sleepstudy").data;

Deno.test("lm and its summary display as text/plain + text/html", () => {
  const fit = lm("Reaction ~ Days", d);
  for (const obj of [fit, fit.summary()]) {
    const b = obj[JUPYTER_DISPLAY]();
    assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"]);
    assert.equal(b["text/plain"], String(fit.summary()));
    // R's printCoefmat digits: 251.405, 6.610, 38.033, and the stars.
    for (const s of ["251.405", "6.610", "38.033", "&lt; 2e-16", "***", "Coefficients"]) {
      assert.ok(b["text/html"]!.includes(s), `html has ${s}`);
    }
    assert.equal(b["text/html"]!.match(/<tr>/g)!.length, 2 + 1, "header + 2 coefficient rows");
  }
});

Deno.test("lmer and its summary display as text/plain + text/html", () => {
  const m = lmer("Reaction ~ Days + (Days | Subject)", d, { dataName: "sleepstudy" });
  for (const obj of [m, m.summary()]) {
    const b = obj[JUPYTER_DISPLAY]();
    assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"]);
    assert.match(b["text/plain"], /REML criterion at convergence: 1743.6/);
    const html = b["text/html"]!;
    for (
      const s of [
        "Random effects",
        "Fixed effects",
        "612.10",
        "24.741",
        "0.07",
        "251.405",
        "Subject",
      ]
    ) {
      assert.ok(html.includes(s), `html has ${s}`);
    }
    assert.ok(!("application/vnd.dataresource+json" in b));
  }
  const singular = lmer("Yield ~ 1 + (1 | Batch)", dataset("Dyestuff2").data);
  assert.match(singular[JUPYTER_DISPLAY]()["text/html"]!, /boundary \(singular\) fit/);
});

Deno.test("result tables display as R's data.frame text and HTML, not data-resource JSON", () => {
  const m = lmer("Reaction ~ Days + (Days | Subject)", d);
  const vc = m.varCorr() as unknown as Record<symbol, () => Record<string, string>>;
  const b = vc[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"]);
  assert.match(
    b["text/plain"],
    /^\s+grp\s+var1\s+var2\s+vcov\s+sdcor\n1\s+Subject\s+\(Intercept\)\s+<NA>/,
  );
  assert.match(b["text/html"], /<table/);
  assert.equal((b["text/html"].match(/<tr>/g) ?? []).length, 1 + 4);
});

Deno.test("emmeans prints as R's emmeans: seed 003's published tables", async () => {
  const { clusterTrial, emmeans } = await import("../mod.ts");
  const df = clusterTrial({ seed: 824523 });
  const text = (x: object) =>
    (x as Record<symbol, () => Record<string, string>>)[JUPYTER_DISPLAY]()["text/plain"];
  assert.equal(
    text(emmeans(lm("dependent ~ predictor", df), "predictor")),
    [
      " predictor    emmean    SE df lower.CL upper.CL",
      " control        1.59 0.391 62    0.808     2.37",
      " intervention   4.55 0.391 62    3.771     5.33",
      "",
      "Confidence level used: 0.95 ",
    ].join("\n"),
  );
  const m = lmer("dependent ~ predictor + (1 | cluster)", df);
  assert.match(
    text(emmeans(m, "predictor")),
    / control {7}0\.962 1\.55 {2}6 {3}-2\.832 {5}4\.76\n intervention {2}3\.309 1\.55 {2}6 {3}-0\.485 {5}7\.10\n\nDegrees-of-freedom method: kenward-roger/,
  );
});
