/**
 * `deno task notebooks`: regenerate the notebooks from tools/make_notebooks.py,
 * execute them with the project's kernel (the Deno kernel of this very deno
 * behind the proxy of tools/kernel/, which keeps every output under its cell;
 * a kernel spec of the runner's own, NO_COLOR=1: no user-installed kernel
 * involved), check their
 * outputs (tests/notebooks/expected.json), and save each into notebooks/ only
 * when it passed every check. A failing notebook keeps its committed version.
 *
 * The sources are written to a scratch folder first and executed with
 * notebooks/ as the kernel's working folder, so that `../mod.ts` resolves.
 * Re-running on unchanged code changes no byte (stable cell ids, figure ids
 * and metadata; no timings).
 *
 * usage: deno run -A tools/notebooks.ts [NAME.ipynb ...]   (default: all)
 */
import { findPython, missingPythonHelp } from "./python.ts";

const ROOT = new URL("../", import.meta.url);
const path = (p: string) => new URL(p, ROOT).pathname;
const MODULES = ["nbformat", "nbclient", "zmq"];

const python = findPython(MODULES);
if (!python) {
  console.error(`notebooks: ${missingPythonHelp(MODULES)}`);
  Deno.exit(1);
}

async function run(args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command(python!, {
    args,
    cwd: path("."),
    env: { NO_COLOR: "1", PYTHON: python! },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return success;
}

const scratch = await Deno.makeTempDir({ prefix: "deno-lmer-notebooks-" });
let ok = false;
try {
  if (await run([path("tools/make_notebooks.py"), "--out", scratch])) {
    const wanted = Deno.args.map((a) => a.replace(/^.*\//, ""));
    const names = [...Deno.readDirSync(scratch)]
      .map((e) => e.name)
      .filter((n) => n.endsWith(".ipynb") && (!wanted.length || wanted.includes(n)))
      .sort();
    ok = names.length > 0 && await run([
      path("tests/notebooks/run_notebooks.py"),
      "--deno",
      Deno.execPath(),
      "--cwd",
      path("notebooks"),
      "--save-to",
      path("notebooks"),
      "--expect",
      path("tests/notebooks/expected.json"),
      ...names.map((n) => `${scratch}/${n}`),
    ]);
    if (!names.length) console.error(`notebooks: none of ${wanted.join(", ")} exists`);
  }
} finally {
  await Deno.remove(scratch, { recursive: true });
}
Deno.exit(ok ? 0 : 1);
