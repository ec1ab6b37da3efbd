/**
 * Interactive partial-pooling explorers: a figure with sliders that redraws
 * the estimates in the reader's browser, with no kernel behind it (so it
 * also works in an nbconvert HTML export or on a static site).
 *
 * - {@link shrinkageExplorer}`(m)`: a fitted lmer model with one grouping
 *   factor. The conditional modes are precomputed in the kernel on a grid of
 *   group-level scales (θ̂ times 1/16 … 16, plus complete pooling) — cheap,
 *   since every solve reuses the cross-products — and the slider moves
 *   between them: towards the clusters' own least-squares estimates (no
 *   pooling) or towards the population line (complete pooling).
 * - {@link poolingExplorer}: the closed form of the worked examples (seeds
 *   000–002): a_j = w_j ȳ_j + (1 − w_j) μ with w_j = n σ_a² / (n σ_a² + σ²),
 *   recomputed in the browser as the sliders change σ_a²/σ², the cluster
 *   size and the number of clusters.
 *
 * The output is HTML: a static picture (an `<img>` of the SVG at the fitted
 * values) that every front end shows, and a script that replaces it by the
 * live figure where scripts run (trusted notebooks, exported HTML).
 * @module
 */
import { Buffer } from "node:buffer";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import { rng } from "../rng/mod.ts";
import { groupNames, groupTerm, perLevelLines, requireLmer } from "./data.ts";

/** What the browser script draws (serialised into the output). */
export interface ExplorerData {
  /** "slopes" (intercept against slope), "intercepts" (estimate against size), or the closed form. */
  kind: "slopes" | "intercepts" | "closed-form";
  /** Figure title. */
  title: string;
  /** x-axis label. */
  xLabel: string;
  /** y-axis label. */
  yLabel: string;
  /** Slider definitions: label, values, index of the initial value, value format. */
  sliders: { label: string; values: number[]; start: number; format: string }[];
  /** Each cluster's own (no pooling) x position. */
  x0: number[];
  /** Each cluster's own (no pooling) y position. */
  y0: number[];
  /** Per slider step, the partially pooled positions, flattened [x, y] per cluster. */
  steps?: number[][];
  /** Per slider step, the population estimate: [intercept, slope] (or [level, 0]). */
  pop?: number[][];
  /** Closed form: standard normal draws for the true effects. */
  z?: number[];
  /** Closed form: standard normal draws for the noise of the cluster means. */
  e?: number[];
  /** Closed form: the cluster sizes the slider offers. */
  sizes?: number[];
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Options of {@link shrinkageExplorer}. */
export interface ShrinkageExplorerOptions {
  /** Grouping factor (default: the model's first). */
  readonly group?: string;
  /** Width and height in pixels (default 560 × 420). */
  readonly width?: number;
  /** Height in pixels. */
  readonly height?: number;
}

/** Options of {@link poolingExplorer}. */
export interface PoolingExplorerOptions {
  /** Observations per cluster at the start (default 10). */
  readonly nPerCluster?: number;
  /** Residual sd σ (default 1). */
  readonly sigma?: number;
  /** Group-level sd σ_a (default 0.5). */
  readonly sigmaA?: number;
  /** Number of clusters at the start (default 20, at most 100). */
  readonly nClusters?: number;
  /** Seed of the simulated clusters (R's generator; default 1). */
  readonly seed?: number;
}

/** A displayable explorer: HTML with sliders, a static fallback picture. */
export class Explorer {
  readonly #data: ExplorerData;
  readonly #id: string;

  /** Prefer {@link shrinkageExplorer} or {@link poolingExplorer}. */
  constructor(data: ExplorerData) {
    this.#data = data;
    this.#id = "lmer-explorer-" + hash(JSON.stringify(data));
  }

  /**
   * The precomputed data the browser draws from (a copy): for a model, the
   * own (x0, y0) and, per slider step, the partially pooled positions.
   */
  get data(): ExplorerData {
    return structuredClone(this.#data);
  }

  /** The figure at the sliders' initial values, as SVG markup. */
  toSVG(): string {
    return staticSvg(this.#data);
  }

  /** The whole output: static picture, controls and the script. */
  toHTML(): string {
    const d = this.#data;
    const img = `<img alt="${esc(d.title)}" width="${d.width}" height="${d.height}" ` +
      `src="data:image/svg+xml;base64,${Buffer.from(this.toSVG()).toString("base64")}">`;
    const json = JSON.stringify(d).replace(/</g, "\\u003c");
    return `<div id="${this.#id}" class="lmer-explorer" style="font-family:sans-serif">` +
      `<div class="lmer-explorer-static">${img}</div>` +
      `<script>(${EXPLORER_SCRIPT})(document.getElementById(${
        JSON.stringify(this.#id)
      }), ${json});</script></div>`;
  }

  /** Notebook display: the HTML, and a line of text where HTML is not shown. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      "text/html": this.toHTML(),
      "text/plain": `${this.#data.title} (interactive figure: open in a notebook or HTML export)`,
    };
  }

  /** The text line of the display. */
  toString(): string {
    return this.#data.title;
  }
}

/** Grid of multipliers of θ̂: 2^(k/4), k = −16 … 16. */
const SCALES = Array.from({ length: 33 }, (_, k) => 2 ** ((k - 16) / 4));

/**
 * An interactive shrinkage figure for a fitted lmer model with one grouping
 * factor: with random slopes, each cluster's intercept and slope (no
 * pooling → partial pooling); with random intercepts, each cluster's
 * estimate against its size. The slider scales the group-level standard
 * deviations (θ) from 1/16 to 16 times the fitted ones; "0" is complete
 * pooling.
 *
 * @example
 * ```ts ignore
 * import { createData, lmer, shrinkageExplorer } from "./mod.ts";
 * shrinkageExplorer(lmer("y ~ x + (x | cluster)", createData())); // last value of a cell
 * ```
 */
export function shrinkageExplorer(
  model: LinearMixedModel,
  options: ShrinkageExplorerOptions = {},
): Explorer {
  const m = requireLmer(model, "shrinkageExplorer");
  const group = options.group ?? groupNames(m)[0];
  const term = groupTerm(m, group, "shrinkageExplorer");
  const q = term.cnames.length;
  if (q > 2 || term.cnames[0] !== "(Intercept)") {
    throw new RangeError(
      `shrinkageExplorer: the term for '${group}' must be (1 | ${group}) or (x | ${group})`,
    );
  }
  if (m.lmm.terms.length !== 1) {
    throw new RangeError("shrinkageExplorer: the model must have a single random-effects term");
  }
  const names = m.lmm.fixedNames;
  const xName = q === 2 ? term.cnames[1] : undefined;
  const ji = names.indexOf("(Intercept)");
  const js = xName ? names.indexOf(xName) : -1;
  if (ji < 0 || (xName && js < 0)) {
    throw new RangeError("shrinkageExplorer: the fixed effects must include the random terms");
  }
  const y = m.frame.mf.y;
  const nLev = term.levels.length;
  const xcol = xName ? m.frame.x.x.subarray(js * m.nobs, js * m.nobs + m.nobs) : undefined;
  const lines = perLevelLines(y, xcol ?? new Float64Array(m.nobs), term.index, nLev);
  const x0: number[] = [], y0: number[] = [];
  for (let l = 0; l < nLev; l++) {
    if (q === 2) (x0.push(lines.intercept[l]), y0.push(lines.slope[l]));
    else (x0.push(lines.n[l]), y0.push(lines.intercept[l]));
  }
  const steps: number[][] = [], pop: number[][] = [];
  const theta = m.theta;
  const at = (s: number) => {
    const sol = m.lmm.solve(theta.map((t) => t * s), m.REML);
    const b = sol.ranef[0].b;
    const xy: number[] = [];
    for (let l = 0; l < nLev; l++) {
      const a = sol.beta[ji] + b[l * q];
      if (q === 2) xy.push(a, sol.beta[js] + b[l * q + 1]);
      else xy.push(lines.n[l], a);
    }
    steps.push(xy);
    pop.push(q === 2 ? [sol.beta[ji], sol.beta[js]] : [sol.beta[ji], 0]);
  };
  at(0);
  for (const s of SCALES) at(s);
  // leave the model's factor at θ̂ (its conditional variances are computed lazily)
  m.lmm.solve(theta, m.REML);
  const width = options.width ?? 560, height = options.height ?? 420;
  return new Explorer({
    kind: q === 2 ? "slopes" : "intercepts",
    title: `Partial pooling of the ${group} estimates (${nLev} clusters)`,
    xLabel: q === 2 ? "intercept" : `observations in the ${group}`,
    yLabel: q === 2 ? `slope of ${xName}` : "estimate",
    sliders: [{
      label: "group-level sd × ",
      values: [0, ...SCALES],
      start: 17,
      format: "scale",
    }],
    x0,
    y0,
    steps,
    pop,
    width,
    height,
  });
}

/**
 * The closed form of partial pooling for random intercepts, explored in the
 * browser: simulated clusters (true effects μ + σ_a z_j, cluster means with
 * noise σ/√n), their raw means and the precision-weighted estimates, with
 * sliders for σ_a²/σ², the cluster size and the number of clusters.
 *
 * @example
 * ```ts ignore
 * poolingExplorer({ nPerCluster: 10, sigma: 1, sigmaA: 0.5 }); // last value of a cell
 * ```
 */
export function poolingExplorer(options: PoolingExplorerOptions = {}): Explorer {
  const n = options.nPerCluster ?? 10, sigma = options.sigma ?? 1, sa = options.sigmaA ?? 0.5;
  const J = options.nClusters ?? 20;
  for (const [k, v, lo, hi] of [["nPerCluster", n, 1, 1000], ["nClusters", J, 2, 100]] as const) {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`poolingExplorer: '${k}' must be a whole number in ${lo}..${hi}`);
    }
  }
  if (!(sigma > 0 && Number.isFinite(sigma)) || !(sa >= 0 && Number.isFinite(sa))) {
    throw new RangeError("poolingExplorer: 'sigma' must be > 0 and 'sigmaA' >= 0 (finite)");
  }
  const r = rng(options.seed ?? 1);
  const z = Array.from(r.rnorm(100)), e = Array.from(r.rnorm(100));
  const ratios = Array.from({ length: 25 }, (_, k) => 2 ** ((k - 12) / 2)); // σ_a²/σ²
  const ratio = (sa * sa) / (sigma * sigma);
  const start = ratios.reduce((b, v, k) => (Math.abs(Math.log(v / ratio)) <
      Math.abs(Math.log(ratios[b] / ratio))
    ? k
    : b), 0);
  const sizes = [1, 2, 3, 5, 10, 20, 50, 100, 200, 1000];
  const nStart = sizes.reduce((b, v, k) => (Math.abs(v - n) < Math.abs(sizes[b] - n) ? k : b), 0);
  const counts = [2, 5, 10, 20, 50, 100];
  const jStart = counts.reduce((b, v, k) => (Math.abs(v - J) < Math.abs(counts[b] - J) ? k : b), 0);
  return new Explorer({
    kind: "closed-form",
    title: "Partial pooling in closed form: a_j = w ȳ_j + (1 − w) μ, w = nσ_a²/(nσ_a² + σ²)",
    xLabel: "cluster (ordered by its true effect)",
    yLabel: "effect (σ = 1)",
    sliders: [
      { label: "σ_a²/σ² = ", values: ratios, start, format: "num" },
      { label: "n per cluster = ", values: sizes, start: nStart, format: "int" },
      { label: "clusters = ", values: counts, start: jStart, format: "int" },
    ],
    x0: [],
    y0: [],
    z,
    e,
    sizes,
    width: 560,
    height: 380,
  });
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** The figure at the initial slider values, drawn by the same code as in the browser. */
function staticSvg(d: ExplorerData): string {
  const fn = new Function("data", "idx", `return (${DRAW_SOURCE})(data, idx);`) as (
    data: ExplorerData,
    idx: number[],
  ) => string;
  return fn(d, d.sliders.map((s) => s.start));
}

/**
 * Draws the SVG for slider positions `idx` (runs in Deno for the static
 * picture and in the browser for the live one: plain ES2015, no imports).
 */
const DRAW_SOURCE = `function draw(d, idx) {
  var W = d.width, H = d.height, L = 56, R = 16, T = 36, B = 44;
  var px = [], py = [], qx = [], qy = [], pop = null, line = null, note = "";
  if (d.kind === "closed-form") {
    var ratio = d.sliders[0].values[idx[0]], n = d.sliders[1].values[idx[1]];
    var J = d.sliders[2].values[idx[2]], sa = Math.sqrt(ratio), w = n * ratio / (n * ratio + 1);
    var order = [];
    for (var j = 0; j < J; j++) order.push(j);
    order.sort(function (a, b) { return d.z[a] - d.z[b]; });
    var mu = 0, means = [];
    for (var k = 0; k < J; k++) {
      var jj = order[k], m = sa * d.z[jj] + d.e[jj] / Math.sqrt(n);
      means.push(m); mu += m / J;
    }
    for (var k2 = 0; k2 < J; k2++) {
      px.push(k2 + 1); py.push(means[k2]);
      qx.push(k2 + 1); qy.push(w * means[k2] + (1 - w) * mu);
    }
    line = mu;
    note = "weight on the cluster's own mean w = " + w.toFixed(3);
  } else {
    var s = idx[0], st = d.steps[s];
    for (var l = 0; l < d.x0.length; l++) {
      if (!isFinite(d.x0[l]) || !isFinite(d.y0[l])) continue;
      px.push(d.x0[l]); py.push(d.y0[l]); qx.push(st[2 * l]); qy.push(st[2 * l + 1]);
    }
    if (d.kind === "slopes") pop = d.pop[s]; else line = d.pop[s][0];
    var v = d.sliders[0].values[s];
    note = v === 0 ? "complete pooling" : "group-level sd × " + (v >= 1 ? v.toFixed(2) : "1/" + (1 / v).toFixed(2)) + (s === d.sliders[0].start ? " (fitted)" : "");
  }
  function ext(a, b) {
    var lo = Infinity, hi = -Infinity;
    a.concat(b).forEach(function (v) { if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    var pad = (hi - lo) * 0.06; return [lo - pad, hi + pad];
  }
  // axes fixed over all slider positions, so that points move, not the frame
  var allx = px.slice(), ally = py.slice();
  if (d.steps) d.steps.forEach(function (st) { for (var i = 0; i < st.length; i += 2) { allx.push(st[i]); ally.push(st[i + 1]); } });
  if (d.kind === "closed-form") { ally = [-3.5, 3.5]; allx = [0, d.sliders[2].values[idx[2]] + 1]; }
  var ex = ext(allx, []), ey = ext(ally, []);
  function X(v) { return L + (v - ex[0]) / (ex[1] - ex[0]) * (W - L - R); }
  function Y(v) { return H - B - (v - ey[0]) / (ey[1] - ey[0]) * (H - T - B); }
  function ticks(e) {
    var span = e[1] - e[0], step = Math.pow(10, Math.floor(Math.log(span / 5) / Math.LN10));
    if (span / step > 10) step *= 2; if (span / step > 10) step *= 2.5;
    var out = []; for (var t = Math.ceil(e[0] / step) * step; t <= e[1]; t += step) out.push(+t.toPrecision(6));
    return out;
  }
  var o = '<svg xmlns="http://www.w3.org/2000/svg" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '" font-family="sans-serif" font-size="11">';
  o += '<rect width="' + W + '" height="' + H + '" fill="white"/>';
  ticks(ex).forEach(function (t) { o += '<line x1="' + X(t) + '" x2="' + X(t) + '" y1="' + (H - B) + '" y2="' + (H - B + 4) + '" stroke="#444"/><text x="' + X(t) + '" y="' + (H - B + 16) + '" text-anchor="middle" fill="#444">' + t + '</text>'; });
  ticks(ey).forEach(function (t) { o += '<line x1="' + (L - 4) + '" x2="' + L + '" y1="' + Y(t) + '" y2="' + Y(t) + '" stroke="#444"/><text x="' + (L - 7) + '" y="' + (Y(t) + 4) + '" text-anchor="end" fill="#444">' + t + '</text>'; });
  o += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + (H - B) + '" y2="' + (H - B) + '" stroke="#444"/><line x1="' + L + '" x2="' + L + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#444"/>';
  o += '<text x="' + ((L + W - R) / 2) + '" y="' + (H - 8) + '" text-anchor="middle">' + d.xLabel + '</text>';
  o += '<text transform="translate(14,' + ((T + H - B) / 2) + ') rotate(-90)" text-anchor="middle">' + d.yLabel + '</text>';
  o += '<text x="' + L + '" y="16" font-size="12" font-weight="bold">' + d.title.replace(/&/g, "&amp;").replace(/</g, "&lt;") + '</text>';
  o += '<text x="' + L + '" y="30" fill="#555">' + note + '</text>';
  if (line !== null) o += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + Y(line) + '" y2="' + Y(line) + '" stroke="#d6604d" stroke-dasharray="4 3"/>';
  for (var i = 0; i < px.length; i++) o += '<line x1="' + X(px[i]) + '" y1="' + Y(py[i]) + '" x2="' + X(qx[i]) + '" y2="' + Y(qy[i]) + '" stroke="#9db8d6"/>';
  for (var i2 = 0; i2 < px.length; i2++) o += '<circle class="raw" cx="' + X(px[i2]) + '" cy="' + Y(py[i2]) + '" r="3" fill="none" stroke="#555"/>';
  for (var i3 = 0; i3 < qx.length; i3++) o += '<circle class="pooled" cx="' + X(qx[i3]).toFixed(2) + '" cy="' + Y(qy[i3]).toFixed(2) + '" r="3.2" fill="#0b5394"/>';
  if (pop) o += '<path d="M' + (X(pop[0]) - 6) + ',' + Y(pop[1]) + 'h12M' + X(pop[0]) + ',' + (Y(pop[1]) - 6) + 'v12" stroke="#d6604d" stroke-width="2.5"/>';
  o += '<text x="' + (W - R) + '" y="' + (T + 2) + '" text-anchor="end" fill="#555">open: own estimate · filled: partial pooling</text>';
  return o + '</svg>';
}`;

/** Runs in the browser: replaces the static picture by the live figure and sliders. */
const EXPLORER_SCRIPT = `function (root, d) {
  if (!root || root.getAttribute("data-live")) return;
  root.setAttribute("data-live", "1");
  var draw = ${DRAW_SOURCE};
  var idx = d.sliders.map(function (s) { return s.start; });
  var fig = document.createElement("div");
  var controls = document.createElement("div");
  controls.style.margin = "4px 0 0 56px";
  controls.style.fontSize = "13px";
  function fmt(s, v) {
    if (s.format === "int") return String(v);
    if (s.format === "scale") return v === 0 ? "0 (complete pooling)" : (v >= 1 ? v.toFixed(2) : "1/" + (1 / v).toFixed(2));
    return v >= 1 ? v.toFixed(2) : v.toPrecision(2);
  }
  function render() { fig.innerHTML = draw(d, idx); }
  d.sliders.forEach(function (s, k) {
    var label = document.createElement("label");
    label.style.display = "block";
    var input = document.createElement("input");
    input.type = "range"; input.min = "0"; input.max = String(s.values.length - 1);
    input.value = String(s.start); input.step = "1";
    input.className = "lmer-explorer-slider";
    var text = document.createElement("span");
    text.textContent = s.label + fmt(s, s.values[s.start]);
    input.addEventListener("input", function () {
      idx[k] = +input.value;
      text.textContent = s.label + fmt(s, s.values[idx[k]]);
      render();
    });
    label.appendChild(input); label.appendChild(text); controls.appendChild(label);
  });
  var stat = root.querySelector(".lmer-explorer-static");
  if (stat) stat.style.display = "none";
  root.appendChild(fig); root.appendChild(controls);
  render();
}`;
