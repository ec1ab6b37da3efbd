/**
 * Every notebook in notebooks/ executes headlessly with the Deno kernel
 * through Jupyter's own client (tests/notebooks/run_notebooks.py, with the
 * project's kernel: Deno's behind the proxy of tools/kernel/, so no output
 * arrives after its cell's idle), with no error output, no code cell that
 * lost its output, no result under another cell, and the published numbers present
 * (tests/notebooks/expected.json). The runner brings its own kernel spec for
 * the deno running these tests (NO_COLOR=1), so a stale or missing
 * user-installed Deno kernel cannot break the test. Needs a Python with
 * nbclient, nbformat and zmq (tools/python.ts finds one on PATH or in the system
 * locations; Debian: jupyter-client, python3-nbclient; .ci/run installs them);
 * skipped with a message otherwise.
 */
import assert from "node:assert/strict";
import { findPython } from "../tools/python.ts";

const ROOT = new URL("../", import.meta.url);
const PY = findPython(["nbclient", "nbformat", "zmq"]);
if (!PY) console.warn("notebooks_test: skipped (no Python with nbclient, nbformat and zmq)");

const notebooks = [...Deno.readDirSync(new URL("notebooks/", ROOT))]
  .filter((e) => e.name.endsWith(".ipynb"))
  .map((e) => e.name)
  .sort();

Deno.test({
  name: `notebooks execute headlessly three times without errors or lost outputs (${
    notebooks.join(", ")
  })`,
  ignore: !PY,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const res = await new Deno.Command(PY!, {
      args: [
        "tests/notebooks/run_notebooks.py",
        "--deno",
        Deno.execPath(),
        "--repeat",
        "3",
        "--expect",
        "tests/notebooks/expected.json",
        "--out",
        out,
        ...notebooks.map((n) => `notebooks/${n}`),
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
    await Deno.remove(out, { recursive: true });
    assert.ok(res.success, text);
  },
});

Deno.test("notebooks are committed with their outputs (every code cell has one)", () => {
  for (const name of notebooks) {
    const nb = JSON.parse(Deno.readTextFileSync(new URL(`notebooks/${name}`, ROOT))) as {
      cells: { cell_type: string; outputs?: unknown[] }[];
    };
    nb.cells.forEach((c, i) => {
      if (c.cell_type === "code") {
        assert.ok((c.outputs ?? []).length > 0, `${name} cell ${i} has no saved output`);
      }
    });
  }
});

Deno.test("committed notebooks hold nothing that changes from run to run", () => {
  for (const name of notebooks) {
    const text = Deno.readTextFileSync(new URL(`notebooks/${name}`, ROOT));
    // ANSI colour codes (a kernel without NO_COLOR), escaped in JSON as \u001b.
    assert.ok(!/\\u001b\[/.test(text), `${name}: ANSI escape codes in the outputs`);
    const nb = JSON.parse(text) as {
      cells: { id?: string; metadata?: Record<string, unknown>; source: string | string[] }[];
    };
    for (const [i, c] of nb.cells.entries()) {
      assert.ok(!c.metadata?.execution, `${name} cell ${i}: execution timings in its metadata`);
      assert.match(
        c.id ?? "",
        /^[0-9a-f]{12}(-\d+)?$/,
        `${name} cell ${i}: not a content-derived id`,
      );
    }
    // Plot's per-process ids (plot-clip-N) would differ between runs.
    assert.ok(!/id=\\"plot-[a-z]+-\d+/.test(text), `${name}: Plot's per-process ids in a figure`);
  }
});
