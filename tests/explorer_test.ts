/**
 * The partial-pooling explorers: the precomputed positions are the model's
 * (at the fitted scale, the conditional modes; at 0, the population line),
 * the output works without a kernel, and in a real browser moving a slider
 * moves the drawn points.
 */
import assert from "node:assert/strict";
import { createData, dataset, lmer, poolingExplorer, shrinkageExplorer } from "../mod.ts";
import { dumpDom, findChromium } from "./helpers/chromium.ts";
import { assertClose } from "./helpers/datasets.ts";

const clark = lmer("y ~ x + (x | cluster)", createData({ nCluster: 30 }));

Deno.test("shrinkageExplorer: at the fitted scale the points are coef(m); at 0 the population", () => {
  const ex = shrinkageExplorer(clark);
  const d = ex.data;
  assert.equal(d.kind, "slopes");
  const start = d.sliders[0].start;
  assert.equal(d.sliders[0].values[start], 1);
  const coef = clark.coef().cluster;
  const a = coef.getColumn("(Intercept)").toArray() as number[];
  const b = coef.getColumn("x").toArray() as number[];
  a.forEach((v, l) => {
    assertClose(d.steps![start][2 * l], v, 1e-10, `intercept ${l}`);
    assertClose(d.steps![start][2 * l + 1], b[l], 1e-10, `slope ${l}`);
  });
  // complete pooling: every cluster at the fixed effects of that fit
  const pop = d.pop![0];
  for (let l = 0; l < a.length; l++) {
    assert.equal(d.steps![0][2 * l], pop[0]);
    assert.equal(d.steps![0][2 * l + 1], pop[1]);
  }
  // the model is left as it was (its factor restored at θ̂)
  const again = lmer("y ~ x + (x | cluster)", createData({ nCluster: 30 }));
  assert.deepEqual(
    Array.from(clark.ranef().cluster.getColumn("x").toArray() as number[]),
    Array.from(again.ranef().cluster.getColumn("x").toArray() as number[]),
  );
  const bundle = (ex as unknown as { [k: symbol]: () => Record<string, string> })[
    Symbol.for("Jupyter.display")
  ]();
  assert.match(bundle["text/html"], /<img alt="Partial pooling[^"]*" width="560"/);
  assert.match(bundle["text/html"], /<script>/);
  assert.ok(bundle["text/html"].length < 1_000_000, "under 1 MB");
});

Deno.test("shrinkageExplorer: random intercepts (estimate against cluster size); bad input", () => {
  const m = lmer("Yield ~ 1 + (1 | Batch)", dataset("Dyestuff"));
  const d = shrinkageExplorer(m).data;
  assert.equal(d.kind, "intercepts");
  assert.deepEqual(d.x0, [5, 5, 5, 5, 5, 5]);
  const modes = m.coef().Batch.getColumn("(Intercept)").toArray() as number[];
  modes.forEach((v, l) => assertClose(d.steps![d.sliders[0].start][2 * l + 1], v, 1e-10, `${l}`));
  const two = lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", dataset("sleepstudy"));
  assert.throws(() => shrinkageExplorer(two), /single random-effects term/);
  assert.throws(() => shrinkageExplorer({} as never), /shrinkageExplorer/);
  assert.throws(() => poolingExplorer({ nPerCluster: 0 }), /'nPerCluster' must be a whole number/);
  assert.throws(() => poolingExplorer({ sigma: -1 }), /'sigma' must be > 0/);
});

/** Load `html` with a probe that moves the first slider; what the probe saw. */
async function moveSlider(
  chromium: string,
  dir: string,
  name: string,
  html: string,
): Promise<{ before: string; after: string; live: boolean; hidden: string }> {
  // after load: record the pooled points, move the first slider to its first
  // position (complete pooling / the smallest ratio), record again
  const probe = `<script>
    window.addEventListener("load", function () {
      var pts = function () {
        return Array.prototype.map.call(document.querySelectorAll("circle.pooled"),
          function (c) { return c.getAttribute("cx") + "," + c.getAttribute("cy"); }).join(" ");
      };
      var before = pts();
      var s = document.querySelector("input.lmer-explorer-slider");
      s.value = "0";
      s.dispatchEvent(new Event("input"));
      var out = document.createElement("pre");
      out.id = "probe";
      out.textContent = JSON.stringify({ before: before, after: pts(),
        live: !!document.querySelector("[data-live]"),
        hidden: document.querySelector(".lmer-explorer-static").style.display });
      document.body.appendChild(out);
    });
  </script>`;
  const file = `${dir}/${name}.html`;
  await Deno.writeTextFile(file, `<!doctype html><html><body>${html}${probe}</body></html>`);
  const dom = await dumpDom(chromium, `file://${file}`, { profileDir: `${dir}/profile-${name}` });
  const m = dom.match(/<pre id="probe">([^<]*)<\/pre>/);
  assert.ok(m, `${name}: the probe ran`);
  return JSON.parse(m[1].replaceAll("&quot;", '"'));
}

Deno.test("explorers in headless Chromium: a slider moves the points", async () => {
  const chromium = findChromium();
  if (!chromium) {
    console.log("skipped: no Chromium (apt-get install chromium)");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    const cases = [["shrinkage", shrinkageExplorer(clark)], [
      "pooling",
      poolingExplorer(),
    ]] as const;
    for (const [name, ex] of cases) {
      const r = await moveSlider(chromium, dir, name, ex.toHTML());
      assert.equal(r.live, true, `${name}: the live figure replaced the picture`);
      assert.equal(r.hidden, "none");
      assert.ok(r.before.length > 0);
      assert.notEqual(r.after, r.before, `${name}: the points moved`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the explorers committed in notebooks 01 and 03 work in headless Chromium", async () => {
  const chromium = findChromium();
  if (!chromium) {
    console.log("skipped: no Chromium (apt-get install chromium)");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    let found = 0;
    for (const nb of ["01-partial-pooling-formula.ipynb", "03-clark-shrinkage.ipynb"]) {
      const book = JSON.parse(
        await Deno.readTextFile(new URL(`../notebooks/${nb}`, import.meta.url)),
      ) as { cells: { outputs?: { data?: Record<string, string | string[]> }[] }[] };
      for (const cell of book.cells) {
        for (const out of cell.outputs ?? []) {
          const h = out.data?.["text/html"];
          const html = Array.isArray(h) ? h.join("") : h;
          if (!html || !html.includes("lmer-explorer")) continue;
          const r = await moveSlider(chromium, dir, `${nb}-${found++}`, html);
          assert.equal(r.live, true, `${nb}: live`);
          assert.notEqual(r.after, r.before, `${nb}: the points moved`);
        }
      }
    }
    assert.equal(found, 3, "two explorers in notebook 01, one in 03");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
