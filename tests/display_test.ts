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

type Displayable = Record<symbol, () => Record<string, string>>;
const bundle = (x: unknown) => (x as Displayable)[JUPYTER_DISPLAY]();

Deno.test("varCorr() displays as R prints VarCorr(m), text and HTML table", () => {
  const m = lmer("Reaction ~ Days + (Days | Subject)", d);
  const b = bundle(m.varCorr());
  assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"]);
  // R 4.2.2, lme4 1.1-31: print(VarCorr(m)).
  assert.equal(
    b["text/plain"],
    [
      " Groups   Name        Std.Dev. Corr ",
      " Subject  (Intercept) 24.7407       ",
      "          Days         5.9221  0.066",
      " Residual             25.5918       ",
    ].join("\n"),
  );
  assert.match(b["text/html"], /<table/);
  assert.equal((b["text/html"].match(/<tr>/g) ?? []).length, 1 + 3);
  for (const s of ["Std.Dev.", "24.7407", "0.066", "Residual"]) {
    assert.ok(b["text/html"].includes(s), `html has ${s}`);
  }
  // Still as.data.frame(VarCorr(m)) underneath.
  assert.deepEqual(m.varCorr().columns, ["grp", "var1", "var2", "vcov", "sdcor"]);
  const pen = lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", dataset("Penicillin").data);
  assert.equal(
    bundle(pen.varCorr())["text/plain"],
    [
      " Groups   Name        Std.Dev.",
      " plate    (Intercept) 0.84670 ",
      " sample   (Intercept) 1.93161 ",
      " Residual             0.54992 ",
    ].join("\n"),
  );
});

Deno.test("ranef() and coef() display as R prints them, one HTML table per factor, all rows", () => {
  const m = lmer("Reaction ~ Days + (Days | Subject)", d);
  const re = m.ranef();
  // Still indexable by factor; the display is not an enumerable key.
  assert.deepEqual(Object.keys(re), ["Subject"]);
  assert.deepEqual(re.Subject.columns, ["Subject", "(Intercept)", "Days"]);
  const b = bundle(re);
  assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"]);
  const lines = b["text/plain"].split("\n");
  // R: print(ranef(m)) (values to the fit's precision).
  assert.equal(lines[0], "$Subject");
  assert.equal(lines[1], "    (Intercept)        Days");
  assert.match(lines[2], /^308 {3}2\.25855\d\d {3}9\.19897\d\d$/);
  assert.equal(lines.length, 1 + 1 + 18 + 1 + 1);
  assert.equal(lines.at(-1), "with conditional variances for “Subject” ");
  const html = b["text/html"];
  assert.equal((html.match(/<table/g) ?? []).length, 1);
  assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 18, "header and every level");
  assert.match(html, /overflow:auto/);
  const c = bundle(m.coef())["text/plain"].split("\n");
  assert.equal(c[0], "$Subject");
  assert.match(c[2], /^308 {4}253\.663\d {1}19\.66626\d\d$/);
  assert.deepEqual(c.slice(-2), ['attr(,"class")', '[1] "coef.mer"']);
  // Two factors: a heading and a table each.
  const pen = lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", dataset("Penicillin").data);
  const pb = bundle(pen.ranef());
  assert.deepEqual(Object.keys(pen.ranef()), ["plate", "sample"]);
  assert.equal((pb["text/html"].match(/<table/g) ?? []).length, 2);
  assert.equal((pb["text/html"].match(/<tr>/g) ?? []).length, 1 + 24 + 1 + 6);
  assert.match(pb["text/plain"], /^\$plate\n[^$]+\n\n\$sample\n/);
  assert.match(pb["text/plain"], /with conditional variances for “plate” “sample” $/);
});

Deno.test("lmer summary HTML has every section of its text; lm summary text as R's summary.lm", () => {
  const m = lmer("Reaction ~ Days + (Days | Subject)", d);
  const b = m.summary()[JUPYTER_DISPLAY]();
  for (
    const s of [
      "Scaled residuals",
      "Random effects",
      "Fixed effects",
      "Correlation of Fixed Effects",
    ]
  ) {
    assert.ok(b["text/plain"].includes(s), `text has ${s}`);
    assert.ok(b["text/html"]!.includes(s), `html has ${s}`);
  }
  for (const s of ["-3.9536", "5.1793", "-0.138", "(Intr)"]) {
    assert.ok(b["text/html"]!.includes(s), `html has ${s}`);
  }
  // R 4.2.2: print(summary(lm(Reaction ~ Days, sleepstudy))), but the Call's data argument.
  const text = String(lm("Reaction ~ Days", d).summary());
  for (
    const line of [
      "Residuals:",
      "     Min       1Q   Median       3Q      Max ",
      "-110.848  -27.483    1.546   26.142  139.953 ",
      "(Intercept)  251.405      6.610  38.033  < 2e-16 ***",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "Residual standard error: 47.71 on 178 degrees of freedom",
      "Multiple R-squared:  0.2865,\tAdjusted R-squared:  0.2825 ",
      "F-statistic: 71.46 on 1 and 178 DF,  p-value: 9.894e-15",
    ]
  ) assert.ok(text.split("\n").includes(line), `summary.lm has: ${line}`);
});

Deno.test("lmList, anova, emmeans, confint and simulate results display as text and HTML", async () => {
  const { anova, confint, lmList, clusterTrial, emmeans, simulate } = await import("../mod.ts");
  const m = lmer("Reaction ~ Days + (Days | Subject)", d);
  const m0 = lmer("Reaction ~ Days + (1 | Subject)", d);
  const df = clusterTrial({ seed: 824523 });
  const results: [string, unknown, RegExp][] = [
    [
      "lmList",
      lmList("Reaction ~ Days | Subject", d),
      /^Coefficients:\n {4}\(Intercept\) {6}Days\n308 {4}244\.1927 21\.764702\n/,
    ],
    ["anova", anova(m0, m), /Chisq Df Pr\(>Chisq\)/],
    ["emmeans", emmeans(lm("dependent ~ predictor", df), "predictor"), /emmean/],
    ["confint", confint(m, { method: "Wald" }), /^\s+2\.5 %\s+97\.5 %\n/],
    [
      "confint lm",
      lm("Reaction ~ Days", d).confint(),
      // R: print(confint(lm(Reaction ~ Days, sleepstudy))).
      /^ {17}2\.5 % {4}97\.5 %\n\(Intercept\) 238\.360753 264\.44946\nDays {10}8\.023855 {2}12\.91072$/,
    ],
    ["simulate", simulate(m, { nsim: 2, seed: 1 }), /sim_1/],
  ];
  for (const [name, x, text] of results) {
    const b = bundle(x);
    assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"], name);
    assert.match(b["text/plain"], text, `${name} text`);
    assert.match(b["text/html"], /<table/, `${name} html`);
    assert.ok(!b["text/plain"].includes("<"), `${name}: text/plain without markup`);
  }
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
