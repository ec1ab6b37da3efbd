#!/usr/bin/env python3
"""Write the notebooks' sources (cells without outputs) into notebooks/.

The notebooks are generated from this one file so that their code stays
reviewable in diffs; `deno task notebooks` executes them and stores the
outputs (committed, so they render on a code host).
"""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNEL = {
    "kernelspec": {"display_name": "Deno", "language": "typescript", "name": "deno"},
    "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/x.typescript"},
}


def nb(path, cells):
    book = new_notebook(cells=cells, metadata=KERNEL)
    nbformat.write(book, path)


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
"""),
    code("""
import { createData, lm, lmer, rng } from "../mod.ts";
rng(42).rnorm(3) // R: set.seed(42); rnorm(3)
"""),
    md("""
`createData()` is Michael Clark's `create_data()` (seed 004): 100 clusters of
10 observations, a random intercept and a random slope for `x`, `set.seed(888)`.
The rows are R's, in R's order.
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
    md("The variance components as `as.data.frame(VarCorr(m))`, and the fixed effects:"),
    code("m.varCorr()"),
    code("m.fixef()"),
    md("""
Per-cluster coefficients (fixed effects plus conditional modes), and predictions for a known
cluster and a new one (population level, `allow.new.levels = TRUE`):
"""),
    code("m.coef().cluster"),
    code("Array.from(m.predict({ x: [0, 1], cluster: [1, 999] }, { allowNewLevels: true }))"),
    md("Ignoring the clusters (complete pooling) gives the same fixed effects here but smaller, wrong standard errors:"),
    code('lm("y ~ x", df).summary()'),
])
