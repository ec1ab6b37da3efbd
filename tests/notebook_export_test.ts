/**
 * The HTML export of notebook 03 (nbconvert, from the committed outputs)
 * shows its figures in headless Chromium: the screenshot holds the orange
 * per-cluster points of the shrinkage figures, not blank boxes (bare
 * image/svg+xml outputs export blank; our figures carry the SVG as an
 * `<img>` in text/html, which a script swaps for the inline SVG). Needs a
 * Python with nbconvert (tools/python.ts finds one on PATH or in the
 * system locations; Debian: jupyter-nbconvert) and chromium
 * (.ci/run installs them); skipped with a message otherwise.
 */
import assert from "node:assert/strict";
import { decodePng } from "./helpers/png.ts";
import { findChromium, screenshot } from "./helpers/chromium.ts";
import { findPython } from "../tools/python.ts";

const ROOT = new URL("../", import.meta.url);
const CHROMIUM = findChromium();
const PY = findPython(["nbconvert"]);

const ready = CHROMIUM !== undefined && PY !== undefined;
if (!ready) console.warn("notebook_export_test: skipped (needs chromium and nbconvert)");

Deno.test({
  name: "notebook 03's HTML export shows the figures in headless Chromium",
  ignore: !ready,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const conv = await new Deno.Command(PY!, {
        args: [
          "-m",
          "nbconvert",
          "--to",
          "html",
          "--output-dir",
          dir,
          "notebooks/03-clark-shrinkage.ipynb",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(conv.success, new TextDecoder().decode(conv.stderr));
      const shot = `${dir}/shot.png`;
      await screenshot(CHROMIUM!, `file://${dir}/03-clark-shrinkage.html`, shot, {
        width: 1200,
        height: 16000,
        budgetMs: 5000,
        profileDir: `${dir}/profile`,
      });
      const img = decodePng(await Deno.readFile(shot));
      // The figures' points: blue (mixed-model estimates) and orange (the
      // per-cluster OLS estimates, where an animation starts). Code
      // highlighting alone gives ~2,200 blue and almost no orange pixels.
      let coloured = 0, nonWhite = 0;
      for (let i = 0; i < img.rgba.length; i += 4) {
        const [r, g, b] = [img.rgba[i], img.rgba[i + 1], img.rgba[i + 2]];
        if (b > r + 50 && b > g + 20) coloured++;
        else if (r > 200 && g > 110 && g < 200 && b < 110) coloured++;
        if (r + g + b < 3 * 245) nonWhite++;
      }
      console.log(`notebook 03 export: ${coloured} blue or orange pixels`);
      assert.ok(nonWhite > 100_000, `screenshot nearly blank (${nonWhite} non-white pixels)`);
      assert.ok(
        coloured > 8_000,
        `figures not visible (${coloured} blue or orange pixels; ~2,300 without figures)`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
