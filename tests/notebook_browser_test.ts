/// <reference lib="dom" />
/**
 * The committed notebooks, opened **untrusted** (as anyone who clones the
 * repository opens them) in the classic Jupyter Notebook served locally,
 * show every figure as a picture: headless Chromium (puppeteer-core) loads
 * each notebook and, for each figure output (a bundle with `image/png`),
 * finds an `<img>` or `<svg>` that has loaded and is larger than 100 × 100
 * px, and no figure text left as a paragraph (what the sanitizer makes of
 * inline SVG). The server runs on 127.0.0.1 with the token disabled and a
 * temporary HOME and Jupyter folders (an empty trust database: every
 * notebook untrusted), on a copy of notebooks/. Needs `jupyter-notebook`
 * (Debian package) and chromium (.ci/run installs both); skipped with a
 * message otherwise. A second test opens the notebooks' nbconvert HTML
 * exports, where scripts run: there every figure's `<img>` has become its
 * inline SVG (hover tooltips).
 */
import assert from "node:assert/strict";
import { findChromium } from "./helpers/chromium.ts";

const ROOT = new URL("../", import.meta.url);
const CHROMIUM = findChromium();

function findNotebookServer(): string | undefined {
  for (const c of [Deno.env.get("JUPYTER_NOTEBOOK"), "/usr/bin/jupyter-notebook"]) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch {
      // not there
    }
  }
  return undefined;
}
const SERVER = findNotebookServer();

const missing = [!SERVER && "jupyter-notebook (Debian: jupyter-notebook)", !CHROMIUM && "chromium"]
  .filter(Boolean);
if (missing.length) console.warn(`notebook_browser_test: skipped (needs ${missing.join(" and ")})`);

const notebooks = [...Deno.readDirSync(new URL("notebooks/", ROOT))]
  .filter((e) => e.name.endsWith(".ipynb"))
  .map((e) => e.name)
  .sort();

interface Nb {
  cells: { cell_type: string; outputs?: { data?: Record<string, unknown> }[] }[];
}

/** [code cell index, output index] of every figure output (a bundle with a PNG). */
function figureOutputs(name: string): [number, number][] {
  const nb = JSON.parse(Deno.readTextFileSync(new URL(`notebooks/${name}`, ROOT))) as Nb;
  const out: [number, number][] = [];
  nb.cells.forEach((c, i) =>
    (c.outputs ?? []).forEach((o, k) => {
      if (o.data && "image/png" in o.data) out.push([i, k]);
    })
  );
  return out;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: `untrusted in the classic notebook, every figure shows as a picture (${
    notebooks.join(", ")
  })`,
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { default: puppeteer } = await import("npm:puppeteer-core@25.16.0");
    const tmp = await Deno.makeTempDir({ prefix: "deno-lmer-classic-" });
    const dir = `${tmp}/notebooks`;
    await Deno.mkdir(dir);
    for (const n of notebooks) await Deno.copyFile(new URL(`notebooks/${n}`, ROOT), `${dir}/${n}`);
    const port = freePort();
    const server = new Deno.Command(SERVER!, {
      args: [
        "--no-browser",
        "--ip=127.0.0.1",
        `--port=${port}`,
        "--port-retries=0",
        "--allow-root",
        "--NotebookApp.token=",
        "--NotebookApp.password=",
        `--notebook-dir=${dir}`,
      ],
      env: {
        HOME: tmp,
        JUPYTER_CONFIG_DIR: `${tmp}/config`,
        JUPYTER_DATA_DIR: `${tmp}/data`,
        JUPYTER_RUNTIME_DIR: `${tmp}/runtime`,
        IPYTHONDIR: `${tmp}/ipython`,
      },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    const logDone = server.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (s) => void log.push(s) }),
    );
    let browser: Awaited<ReturnType<typeof puppeteer.launch>> | undefined;
    try {
      const base = `http://127.0.0.1:${port}`;
      const t0 = Date.now();
      for (;;) {
        try {
          const r = await fetch(`${base}/api`);
          await r.body?.cancel();
          if (r.ok) break;
        } catch {
          // not up yet
        }
        if (Date.now() - t0 > 30_000) throw new Error(`notebook server not up:\n${log.join("")}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      browser = await puppeteer.launch({
        executablePath: CHROMIUM!,
        headless: true,
        userDataDir: `${tmp}/profile`,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      const page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 900 });
      let total = 0;
      for (const name of notebooks) {
        const expected = figureOutputs(name);
        assert.ok(expected.length > 0, `${name}: no figure outputs to check`);
        await page.goto(`${base}/notebooks/${name}`, { waitUntil: "load" });
        await page.waitForFunction(
          // deno-lint-ignore no-explicit-any
          () => (globalThis as any).Jupyter?.notebook?._fully_loaded === true,
          { timeout: 30_000 },
        );
        // Give the data: images time to decode.
        await page.waitForFunction(
          () =>
            [...document.querySelectorAll(".output_area img")].every((i) =>
              (i as HTMLImageElement).complete
            ),
          { timeout: 30_000 },
        );
        const seen = await page.evaluate((want: [number, number][]) => {
          // deno-lint-ignore no-explicit-any
          const nb = (globalThis as any).Jupyter.notebook;
          return {
            trusted: nb.trusted as boolean,
            figures: want.map(([i, k]) => {
              const cell = nb.get_cell(i);
              const area = cell?.output_area?.element?.[0] as HTMLElement | undefined;
              const out = area?.querySelectorAll(".output_area")[k] as HTMLElement | undefined;
              if (!out) return { i, k, found: false, w: 0, h: 0, loaded: false, text: "" };
              let best = { w: 0, h: 0, loaded: false };
              for (const el of out.querySelectorAll("img, svg")) {
                const r = el.getBoundingClientRect();
                const loaded = el.tagName.toLowerCase() === "svg" ||
                  (el as HTMLImageElement).naturalWidth > 0;
                if (r.width * r.height > best.w * best.h) {
                  best = { w: r.width, h: r.height, loaded };
                }
              }
              const sub = out.querySelector(".output_subarea") as HTMLElement | null;
              return { i, k, found: true, ...best, text: (sub?.innerText ?? "").trim() };
            }),
          };
        }, expected);
        assert.equal(seen.trusted, false, `${name} opened trusted: the test must see it untrusted`);
        for (const f of seen.figures) {
          const where = `${name} cell ${f.i} output ${f.k}`;
          assert.ok(f.found, `${where}: no output in the page`);
          assert.ok(f.loaded, `${where}: the image did not load`);
          assert.ok(f.w > 100 && f.h > 100, `${where}: picture ${f.w} × ${f.h} px`);
          assert.ok(
            f.text.length < 40,
            `${where}: text instead of a picture: ${f.text.slice(0, 80)}`,
          );
          total++;
        }
        const sizes = seen.figures.map((f) => `${Math.round(f.w)}×${Math.round(f.h)}`);
        console.log(
          `${name}: ${seen.figures.length} figures shown untrusted (${sizes.join(", ")})`,
        );
      }
      assert.ok(total >= 10, `only ${total} figures checked`);
    } finally {
      await browser?.close();
      try {
        server.kill("SIGTERM");
      } catch {
        // already exited
      }
      await server.status;
      await logDone.catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

const PY = (await import("../tools/python.ts")).findPython(["nbconvert"]);
if (!PY || !CHROMIUM) {
  console.warn("notebook_browser_test: export test skipped (needs nbconvert, chromium)");
}

Deno.test({
  name: "where scripts run (nbconvert's HTML export), figures become inline SVG with hover titles",
  ignore: !PY || !CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { default: puppeteer } = await import("npm:puppeteer-core@25.16.0");
    const tmp = await Deno.makeTempDir({ prefix: "deno-lmer-export-" });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM!,
      headless: true,
      userDataDir: `${tmp}/profile`,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      const page = await browser.newPage();
      for (const name of notebooks) {
        const conv = await new Deno.Command(PY!, {
          args: ["-m", "nbconvert", "--to", "html", "--output-dir", tmp, `notebooks/${name}`],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(conv.success, new TextDecoder().decode(conv.stderr));
        await page.goto(`file://${tmp}/${name.replace(/\.ipynb$/, ".html")}`, {
          waitUntil: "load",
        });
        await page.waitForFunction(
          () => document.querySelectorAll("img.deno-lmer-figure").length === 0,
          { timeout: 10_000 },
        );
        const svgs = await page.evaluate(() =>
          [...document.querySelectorAll("svg[role=img]")].map((s) => {
            const r = s.getBoundingClientRect();
            return { w: r.width, h: r.height, titles: s.querySelectorAll("title").length };
          })
        );
        assert.equal(svgs.length, figureOutputs(name).length, `${name}: one inline SVG per figure`);
        for (const s of svgs) assert.ok(s.w > 100 && s.h > 100 && s.titles >= 1, JSON.stringify(s));
        // Hover tooltips (<title> on points) in most figures.
        assert.ok(svgs.some((s) => s.titles > 1), `${name}: no figure with point tooltips`);
      }
    } finally {
      await browser.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
