#!/usr/bin/env python3
"""Write the notebooks' sources (cells without outputs).

The notebooks are generated from this one file so that their code stays
reviewable in diffs; `deno task notebooks` (tools/notebooks.ts) writes them
into a scratch folder with this script, executes them, and saves them with
their outputs into notebooks/ (committed, so they render on a code host).

Cell ids are derived from the cells' contents, not random, so that
regenerating unchanged notebooks changes no byte.

usage: make_notebooks.py [--out DIR]   (default: notebooks/ of the repository)
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys

REQUIRED = ("nbformat",)


def reexec_with_jupyter_python():
    """This Python lacks nbformat: rerun under one that has it, if any."""
    seen = {os.path.realpath(sys.executable)}
    env_py = os.environ.get("PYTHON")
    for cand in (env_py, shutil.which("python3"), shutil.which("python"), "/usr/bin/python3",
                 "/usr/local/bin/python3"):
        if not cand or not os.path.exists(cand) or os.path.realpath(cand) in seen:
            continue
        seen.add(os.path.realpath(cand))
        probe = subprocess.run([cand, "-c", "import " + ", ".join(REQUIRED)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            os.execv(cand, [cand] + sys.argv)
    sys.exit(f"{sys.argv[0]}: needs the Python package(s) {', '.join(REQUIRED)} "
             "(Debian: apt-get install python3-nbformat; elsewhere: pip install nbformat), "
             "or set PYTHON to an interpreter that has them")


try:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
except ImportError:
    reexec_with_jupyter_python()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--out", default=os.path.join(ROOT, "notebooks"),
                help="folder to write the notebooks into (default: notebooks/)")
OUT = ap.parse_args().out
os.makedirs(OUT, exist_ok=True)

KERNEL = {
    "kernelspec": {"display_name": "Deno", "language": "typescript", "name": "deno"},
    "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/x.typescript"},
}


def stable_ids(cells):
    """Cell ids from a hash of each cell's type and source (nbformat's are random);
    a repeated cell gets a suffix."""
    used = set()
    for cell in cells:
        base = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:12]
        cid, k = base, 1
        while cid in used:
            k += 1
            cid = f"{base}-{k}"
        used.add(cid)
        cell["id"] = cid


def nb(path, cells):
    stable_ids(cells)
    book = new_notebook(cells=cells, metadata=KERNEL)
    nbformat.write(book, os.path.join(OUT, os.path.basename(path)))


def md(s):
    return new_markdown_cell(s.strip())


def code(s):
    return new_code_cell(s.strip())


nb("notebooks/00-quickstart.ipynb", [
    md("""
# deno-lmer in five minutes

Simulate clustered data with R-identical random numbers, fit a linear mixed
model exactly as R's lme4 would, look at it, and predict. Every value shown
below is what R prints for the same code.

*The first run in a new environment downloads about 250 MB (nodejs-polars'
native binaries) and shows nothing for 3–10 s while it does; later runs start
at once.*
"""),
    code("""
import { caterpillarPlot, createData, lm, lmer, rng, shrinkagePlot } from "../mod.ts";
rng(42).rnorm(3) // R: set.seed(42); rnorm(3)
"""),
    md("""
`createData()` is the `create_data()` of Michael Clark's post ["Shrinkage in
Mixed Effects Models"](https://m-clark.github.io/posts/2019-05-14-shrinkage-in-mixed-models/)
(2019): 100 clusters of 10 observations, a random intercept and a random slope
for `x`, `set.seed(888)`. The rows are R's, in R's order.
"""),
    code("""
const df = createData();
`${df.height} rows; first y = ${df.getColumn("y").toArray()[0]}`
"""),
    md("Fit `y ~ x + (x | cluster)` by REML, as `lmer()` in R. The model displays as lme4's summary."),
    code("""
const m = lmer("y ~ x + (x | cluster)", df, { dataName: "df" });
m
"""),
    md("The variance components as R prints `VarCorr(m)` (the table holds the columns of `as.data.frame(VarCorr(m))`), and the fixed effects:"),
    code("m.varCorr()"),
    code("m.fixef()"),
    md("""
Partial pooling at a glance: each cluster's own least-squares line (orange) and
its mixed-model estimate (blue), with an arrow from one to the other; the
population average is the dark disc.
"""),
    code("shrinkagePlot(m)"),
    md("The conditional modes with 95% intervals from their conditional variances (lme4's `dotplot(ranef(m, condVar = TRUE))`):"),
    code("caterpillarPlot(m)"),
    md("""
Per-cluster coefficients (fixed effects plus conditional modes), and predictions for a known
cluster and a new one (population level, `allow.new.levels = TRUE`):
"""),
    code("m.coef()"),
    code("Array.from(m.predict({ x: [0, 1], cluster: [1, 999] }, { allowNewLevels: true }))"),
    md("Ignoring the clusters (complete pooling) gives the same fixed effects here but smaller, wrong standard errors:"),
    code('lm("y ~ x", df).summary()'),
])

nb("notebooks/01-partial-pooling-formula.ipynb", [
    md("""
# Partial pooling as a precision-weighted average

*Two Cross Validated questions and their answers: ["Why does Partial Pooling
occur in Mixed Effects Regressions?"](https://stats.stackexchange.com/q/637869)
and [question 142209](https://stats.stackexchange.com/q/142209), on how Gelman &
Hill's weighted-average formula for α_j (*Data Analysis Using Regression and
Multilevel/Hierarchical Models*, p. 253) follows from the model.*

For the random-intercept model `y_ij = a_j + b·x_ij + e_ij` with
`a_j ~ N(μ, σ_a²)` and `e_ij ~ N(0, σ_y²)`, the estimate of each group's
intercept is a precision-weighted average of the group's own mean (with the
fixed part removed) and the population mean μ:

  â_j = w_j · ȳ_j + (1 − w_j) · μ,  w_j = n_j σ_a² / (n_j σ_a² + σ_y²)

A group with many observations (large n_j) or a large between-group variance
keeps close to its own mean; a small group is pulled toward μ. This notebook
checks that formula against the model's conditional modes, numerically.
"""),
    code("""
import { createData, lmer, partialPoolingFormula, partialPoolingParts, weightPlot } from "../mod.ts";
// Unbalanced clusters (half the rows sampled away), random intercepts only.
const df = createData({ balanced: 0.5, sdSlope: 0, seed: 2019 });
const m = lmer("y ~ x + (1 | cluster)", df, { dataName: "df" });
m
"""),
    md("""
`partialPoolingFormula(m)` computes, per cluster, n_j, the group mean of
`y − b·x`, the weight w_j from the fitted σ_a and σ_y, the weighted average,
and the fitted conditional mode (fixed intercept + `ranef`):
"""),
    code("const pp = partialPoolingFormula(m);\npp"),
    md("The weighted average **is** the conditional mode, to rounding error:"),
    code("""
const parts = partialPoolingParts(m);
const maxDiff = Math.max(...parts.weightedAverage.map((v, j) => Math.abs(v - parts.conditionalMode[j])));
({ maxDiff, equalTo1e8: maxDiff < 1e-8 })
"""),
    md("""
The formula as printed in the question (and repeated in the answer) swaps the
weights: it puts σ_a²/(n_j σ_y² + σ_a²) on the group mean. That version does
not reproduce the fit:
"""),
    code("""
const swapDiff = Math.max(...parts.swappedAverage.map((v, j) => Math.abs(v - parts.conditionalMode[j])));
({ swapDiff })
"""),
    md("""
The weight on a cluster's own mean grows with its size n_j, toward 1; the
fitted variance components are in the caption:
"""),
    code("weightPlot(m)"),
    md("""
*How the group-level variance moves the estimates (the answer to question
[142209](https://stats.stackexchange.com/q/142209)).* With a smaller
σ_a² (×¼) every cluster is pulled harder toward μ; with a larger one (×4) the
clusters keep closer to their own means:
"""),
    code("weightPlot(m, { multipliers: [0.25, 4] })"),
    md("""
The estimates themselves, from the closed form at three group-level variances
(μ and σ_y held at their fitted values): each panel plots a cluster's own
mean against its estimate â_j; the dashed line is μ, the diagonal is "no
pooling". As σ_a² grows the points climb onto the diagonal; as it shrinks
they fall onto μ — small clusters (small dots) first.
"""),
    code("""
import { Figure, Plot } from "../mod.ts";
const rows = [0.25, 1, 4].flatMap((k) =>
  Array.from(parts.groupMean, (g, j) => {
    const s2a = k * parts.sigmaA ** 2;
    const w = (parts.n[j] * s2a) / (parts.n[j] * s2a + parts.sigma ** 2);
    return { panel: `σ_a² × ${k}`, groupMean: g, estimate: w * g + (1 - w) * parts.mu, n: parts.n[j] };
  })
);
const lim = [Math.min(...parts.groupMean), Math.max(...parts.groupMean)];
new Figure({
  description: "three panels: σ_a² × 0.25, 1, 4",
  panels: [{
  width: 900, height: 330, marginTop: 30,
  x: { label: "cluster's own mean (y − b·x)" }, y: { label: "estimate â_j", grid: true },
  r: { range: [1.5, 5] },
  marks: [
    Plot.line([{ x: lim[0], y: lim[0] }, { x: lim[1], y: lim[1] }], { x: "x", y: "y", stroke: "#bbb" }),
    Plot.ruleY([parts.mu], { stroke: "#444", strokeDasharray: "4 3" }),
    Plot.dot(rows, { x: "groupMean", y: "estimate", r: "n", fx: "panel", fill: "#1f5a9a", fillOpacity: 0.7 }),
  ],
  }],
})
"""),
    md("""
**Explore it.** The same closed form with sliders, computed in your browser
(no kernel needed, also in the HTML export): change σ_a²/σ², the cluster size
and the number of clusters, and watch the weight w and the estimates move
between each cluster's own mean (open circles) and μ (dashed). Where scripts
do not run (a notebook that is not trusted) the figure shows as a picture.
"""),
    code("""
import { poolingExplorer, shrinkageExplorer } from "../mod.ts";
poolingExplorer({ nPerCluster: 10, sigma: 1, sigmaA: 0.5 })
"""),
    md("The fitted model's own clusters: slide the group-level standard deviation from complete pooling (0) to almost none (×16):"),
    code("shrinkageExplorer(m)"),
])

nb("notebooks/02-small-clusters.ipynb", [
    md(f"""
# Why does lme4 seem biased toward small clusters?

*The Cross Validated question ["Mixed models of lme4 and nlme giving too much
weight for small clusters"](https://stats.stackexchange.com/q/630190), with R
code (`set.seed(824523)`, cluster sizes 2/10/10/10 per arm), lm against lmer, a
per-cluster shrinkage table and `emmeans` tables.*

The library's random numbers are R's, so `clusterTrial({{ seed: 824523 }})`
generates exactly the question's data (the same `rnorm` draws in the same
order).
"""),
    code("""
import { clusterTrial, emmeans, lm, lmer, poolingPlot, poolingTable } from "../mod.ts";
const df = clusterTrial({ seed: 824523 }); // scenario 1: sizes 2,10,10,10 | 2,10,10,10, sd 3, effect 5
const linear = lm("dependent ~ predictor", df);
const mmodel = lmer("dependent ~ predictor + (1 | cluster)", df, { dataName: "df" });
linear.coef()
"""),
    code("mmodel"),
    md("""
The question's figure: cluster means before (black) and after (red) partial
pooling, the lm line solid and the lmer line dashed.
"""),
    code('poolingPlot(linear, mmodel, { x: "predictor", group: "cluster" })'),
    md("""
The answer's table: per cluster, the observed mean, the partially pooled mean
(mean of `predict(mmodel)`), the completely pooled mean (mean of
`predict(linear)`) and the shrinkage. The small clusters (1 and 5, two
observations each) move most — as partial pooling promises.
"""),
    code("const pooled = poolingTable(linear, mmodel);\npooled"),
    md("Cluster 1 to the answer's printed digits (observed −1.6627715, partially pooled −1.5512698):"),
    code("""
const row1 = pooled.toRecords()[0] as Record<string, number>;
({ observed: row1.observed.toFixed(7), partiallyPooled: row1.partiallyPooled.toFixed(7), shrinkage: row1.shrinkage.toFixed(9) })
"""),
    md("""
The marginal means. The linear model weights every observation equally, so
its group means are the raw means (control 1.59, SE 0.391, df 62):
"""),
    code('emmeans(linear, "predictor")'),
    md("""
The mixed model treats the four clusters per arm as a sample of clusters:
its group means are close to the **mean of the cluster means**, so each
cluster — small or large — counts almost equally (control 0.962, SE 1.55,
df 6 by Kenward-Roger, as R's emmeans with pbkrtest installed):
"""),
    code('emmeans(mmodel, "predictor")'),
    md("""
That is the whole explanation of the "bias": with a between-cluster variance
this large (ICC ≈ 0.9) the cluster means are estimated precisely, shrinkage
is tiny, and the arm means are driven by the cluster means rather than by the
observations. The two small, low clusters therefore pull the lmer line down.

The other two scenarios of the question:
"""),
    code("""
const s2 = clusterTrial({ seed: 1324523, clusterSizes: [2, 10, 10, 10, 2, 10, 10, 100] });
const s3 = clusterTrial({ seed: 1324523, sdCluster: 1, effect: 1 });
({
  scenario2: { lm: lm("dependent ~ predictor", s2).coef(), lmer: lmer("dependent ~ predictor + (1 | cluster)", s2).fixef() },
  scenario3: { lm: lm("dependent ~ predictor", s3).coef(), lmer: lmer("dependent ~ predictor + (1 | cluster)", s3).fixef() },
})
"""),
    md("Scenario 2: the large intervention cluster (n = 100) is low, yet the lmer line turns toward the small high cluster:"),
    code('poolingPlot(lm("dependent ~ predictor", s2), lmer("dependent ~ predictor + (1 | cluster)", s2), { x: "predictor", group: "cluster" })'),
    md("""
Scenario 3 (smaller between-cluster variance, stronger pooling) with the
observations before (faint) and after (solid) pooling, and the red dashed lm
refitted to the shifted observations — it coincides with the lmer line:
"""),
    code('poolingPlot(lm("dependent ~ predictor", s3), lmer("dependent ~ predictor + (1 | cluster)", s3), { x: "predictor", group: "cluster", points: true })'),
])

CLARK = [
    ("default: `create_data()`", "{}"),
    ("more cluster-level variance: `create_data(sd_int = 1, sd_slope = 1)`", "{ sdInt: 1, sdSlope: 1 }"),
    ("more slope variance: `create_data(sd_int = .25, sd_slope = 1)`", "{ sdInt: 0.25, sdSlope: 1 }"),
    ("fewer observations per cluster: `create_data(obs_per_cluster = 3)`", "{ obsPerCluster: 3 }"),
    ("more observations per cluster: `create_data(obs_per_cluster = 100)`", "{ obsPerCluster: 100 }"),
    ("unbalanced: `create_data(balanced = .5, sd_int = .5, sd_slope = .5, sigma = .25)`",
     "{ balanced: 0.5, sdInt: 0.5, sdSlope: 0.5, sigma: 0.25 }"),
]
cells = [
    md("""
# Shrinkage in mixed effects models

*Michael Clark's post ["Shrinkage in Mixed Effects
Models"](https://m-clark.github.io/posts/2019-05-14-shrinkage-in-mixed-models/)
(2019): `create_data()` with `set.seed(888)`, `lmer(y ~ x + (x | cluster))`,
and six data settings.*

`createData()` reproduces the post's R function row for row; the fitted
model reproduces the post's summary (REML criterion 3012.2, residual variance
0.99244, fixed effects 0.93647 and 0.54405) as lme4 1.1-31 prints it.
"""),
    code("""
import { createData, lmer, lmList, shrinkagePlot } from "../mod.ts";
const df = createData();
const mod = lmer("y ~ x + (x | cluster)", df, { dataName: "df" });
mod
"""),
    md("The per-cluster regressions (the post's \"regression by cluster\"):"),
    code('lmList("y ~ x | cluster", df)'),
    md("""
The shrinkage: each cluster's OLS estimates (intercept on x, slope on y) move
to the mixed model's, toward the population average (the "black hole"). The
animation plays in the live notebook and in the HTML export (SVG animation,
no scripts). Each figure shows every cluster; the post draws all six settings
in one fixed window, `shrinkagePlot(mod, { zoom: { intercept: 0.5, slope: 0.25 } })`,
which leaves most clusters of the larger-variance settings outside.
"""),
    code("shrinkagePlot(mod, { animate: true })"),
    md("""
**Explore it**: the same clusters with a slider for the group-level standard
deviations (θ scaled from complete pooling, 0, to ×16), computed in the kernel
once and redrawn in your browser:
"""),
    code("""
import { shrinkageExplorer } from "../mod.ts";
shrinkageExplorer(mod)
"""),
]
for title, opts in CLARK[1:]:
    cells.append(md(f"## {title}"))
    cells.append(code(f'const m_{len(cells)} = lmer("y ~ x + (x | cluster)", createData({opts}), {{ dataName: "df" }});\nm_{len(cells)}.varCorr()'))
    cells.append(code(f'shrinkagePlot(m_{len(cells) - 1}, {{ animate: true }})'))
nb("notebooks/03-clark-shrinkage.ipynb", cells)

nb("notebooks/04-glmer.ipynb", [
    md("""
# Generalized linear mixed models: cbpp and VerbAgg

`glmer()` fits lme4's generalized linear mixed models — binomial and Poisson
responses with random effects — by lme4's method (PIRLS for the conditional
modes, the Laplace approximation of the likelihood, lme4's two optimizer
stages), and prints them as lme4 does. Two of lme4's own examples: `cbpp`
(proportions) and `VerbAgg` (binary answers, crossed random effects).

The figures show what partial pooling does on the scale people read a
binomial model on, the probability scale.
"""),
    code("""
import { caterpillarPlot, dataset, diagnosticsPlot, emmeans, glmer } from "../mod.ts";
import { glmerShrinkagePlot } from "../advanced.ts";
const cbpp = dataset("cbpp");
cbpp.head(6)
"""),
    md("""
## cbpp: contagious bovine pleuropneumonia

15 herds of zebu cattle in Ethiopia, followed over four periods: `incidence`
new serological cases out of `size` animals. The response is a proportion,
written as lme4 writes it, `cbind(successes, failures)`; each herd gets a
random intercept on the logit scale. As in R,
`glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)`:
"""),
    code("""
const gm1 = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, {
  family: "binomial",
  dataName: "cbpp",
});
gm1
"""),
    md("""
### Partial pooling on the probability scale

Each herd's **raw proportion** (its cases over its animals: no pooling,
orange) against the model's **conditional prediction** for the same rows (the
fixed effects plus the herd's conditional mode, through the inverse logit:
partial pooling, blue), with an arrow from one to the other. The grey dash is
what the model predicts for that herd without a herd effect (the population
level). Left, pooled over the four periods, against the herd's number of
animals: the small herds move most, the large ones keep close to their own
proportion. Right, one point per herd and period, herds side by side in the
order of their conditional modes; the dashed curve is the population
prediction of each period, `plogis(β₀ + β_period)`.
"""),
    code('glmerShrinkagePlot(gm1, { by: "period" })'),
    md("""
The herd effects themselves, on the logit scale where the model makes them
normal, with 95% intervals from their conditional variances (lme4's
`dotplot(ranef(gm1, condVar = TRUE))`):
"""),
    code("caterpillarPlot(gm1)"),
    md("""
### Marginal means on the response scale

`emmeans(gm1, "period", { type: "response" })` is R's
`emmeans(gm1, "period", type = "response")`: the period means back-transformed
to probabilities, standard errors by the delta method, and the asymptotic
intervals computed on the logit scale and back-transformed (so they are not
symmetric):
"""),
    code('emmeans(gm1, "period", { type: "response" })'),
    md("On the link (logit) scale, as `emmeans(gm1, \"period\")`:"),
    code('emmeans(gm1, "period")'),
    md("""
### Checking the fit: binned residuals

Residuals of binomial data are not normal and have no constant variance, so a
linear model's residual plot says nothing here. `diagnosticsPlot` of a
binomial fit draws **binned residuals** instead (Gelman and Hill's
`binnedplot`): the observations sorted by fitted probability and cut into
bins, each bin's average residual with ±2 standard errors. Next to it, the
normal QQ plot of the herd effects.
"""),
    code("diagnosticsPlot(gm1)"),
    md("""
## VerbAgg: verbal aggression, crossed random effects

316 people answered 24 items (situations × behaviour types) on whether they
would react with verbal aggression; `r2` is the binary answer. Subjects and
items are crossed random effects, as in lme4's documentation:
`glmer(r2 ~ (Anger + Gender + btype + situ) + (1 | id) + (1 | item), VerbAgg, family = binomial)`
(7,584 rows; about 1–2 s).
"""),
    code("""
const gm2 = glmer("r2 ~ (Anger + Gender + btype + situ) + (1 | id) + (1 | item)", dataset("VerbAgg"), {
  family: "binomial",
  dataName: "VerbAgg",
});
gm2
"""),
    md("""
Every subject answered the same 24 items, so the subjects are ranked by their
raw proportion of "yes". With only 24 binary answers each, the subjects'
proportions are pulled hard toward their population-level predictions
(which keep the items' effects): a subject who said "yes" to every item is
not predicted to say yes with certainty.
"""),
    code("glmerShrinkagePlot(gm2)"),
    md("""
The 24 item effects with their intervals: each item has 316 answers, so its
conditional mode is known much better than a subject's.
"""),
    code('caterpillarPlot(gm2, { group: "item" })'),
    md("""
The probability of a "yes" by behaviour type (curse, scold, shout), averaged
over gender and situation, on the response scale. R prints 0.0405 for the
first standard error: lme4's covariance of the fixed effects comes from a
finite-difference Hessian, and the two agree to 1e-4 relative (0.040448
against 0.040452), which rounds differently in the third digit here.
"""),
    code('emmeans(gm2, "btype", { type: "response" })'),
])
