/**
 * Every notebook in notebooks/ executes headlessly with the Deno kernel
 * through Jupyter's own client (tests/notebooks/run_notebooks.py, which
 * works around the Deno 2.9.6 late-output defect), with no error output, no
 * code cell that lost its output, and the published numbers present
 * (tests/notebooks/expected.json). Needs Debian's jupyter-client and
 * python3-nbclient (.ci/run installs them); skipped with a message otherwise.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const PY = "/usr/bin/python3";

function hasJupyter(): boolean {
  try {
    return new Deno.Command(PY, {
      args: ["-c", "import nbclient, nbformat"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

const notebooks = [...Deno.readDirSync(new URL("notebooks/", ROOT))]
  .filter((e) => e.name.endsWith(".ipynb"))
  .map((e) => e.name)
  .sort();

Deno.test({
  name: `notebooks execute headlessly three times without errors or lost outputs (${
    notebooks.join(", ")
  })`,
  ignore: !hasJupyter(),
  fn: async () => {
    const out = await Deno.makeTempDir();
    // A kernel spec of our own, running the very deno that runs these tests,
    // so a stale or missing user-installed Deno kernel cannot break the test.
    const kdir = await Deno.makeTempDir();
    await Deno.mkdir(`${kdir}/kernels/deno-lmer-test`, { recursive: true });
    await Deno.writeTextFile(
      `${kdir}/kernels/deno-lmer-test/kernel.json`,
      JSON.stringify({
        argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
        display_name: "Deno (deno-lmer tests)",
        language: "typescript",
        env: { NO_COLOR: "1" },
      }),
    );
    const res = await new Deno.Command(PY, {
      args: [
        "tests/notebooks/run_notebooks.py",
        "--kernel",
        "deno-lmer-test",
        "--repeat",
        "3",
        "--expect",
        "tests/notebooks/expected.json",
        "--out",
        out,
        ...notebooks.map((n) => `notebooks/${n}`),
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", JUPYTER_PATH: kdir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
    await Deno.remove(out, { recursive: true });
    await Deno.remove(kdir, { recursive: true });
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
