/**
 * The "Deno (deno-lmer)" kernel (tools/kernel/: Deno's kernel behind a
 * message proxy) keeps every output under its own cell: notebook 02 run all
 * with its cells sent back to back, 5 times through `jupyter_client`, with
 * zero misplaced, lost or after-idle outputs (tests/bench/kernel_runs.py
 * compares each cell's outputs with the committed notebook's output types and
 * their parent msg_id with the cell's); and everything else passes through
 * (tests/helpers/kernel_passthrough.py: completion, stdin, interrupt,
 * restart, a second client). The kernel spec is written into a temporary
 * folder (JUPYTER_PATH, JUPYTER_DATA_DIR and JUPYTER_RUNTIME_DIR all
 * temporary): the user's Jupyter setup is never touched. Skipped, with a
 * message, when no Python has jupyter_client and zmq (Debian: jupyter-client,
 * python3-zmq).
 */
import assert from "node:assert/strict";
import { findPython } from "../tools/python.ts";
import { installKernel } from "../tools/kernel/install.ts";

const ROOT = new URL("../", import.meta.url);
const PY = findPython(["jupyter_client", "zmq"]);
if (!PY) {
  console.warn(
    "kernel_proxy_test: skipped (no Python with jupyter_client and zmq; " +
      "Debian: apt-get install jupyter-client python3-zmq)",
  );
}

/** A temporary Jupyter setup holding the project's kernel spec as `name`. */
async function withKernel<T>(
  name: string,
  fn: (env: Record<string, string>, kernelDir: string) => Promise<T>,
): Promise<T> {
  const tmp = await Deno.makeTempDir({ prefix: "deno-lmer-kernel-test-" });
  try {
    const dir = await installKernel({ kernelsDir: `${tmp}/path/kernels`, name });
    const env = {
      JUPYTER_PATH: `${tmp}/path`,
      JUPYTER_DATA_DIR: `${tmp}/data`,
      JUPYTER_RUNTIME_DIR: `${tmp}/runtime`,
      NO_COLOR: "1",
    };
    return await fn(env, dir);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function python(args: string[], env: Record<string, string>) {
  const res = await new Deno.Command(PY!, {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { ok: res.success, out: dec.decode(res.stdout), err: dec.decode(res.stderr) };
}

Deno.test({
  name: "kernel spec: the proxy launcher, this deno by absolute path, NO_COLOR=1",
  ignore: !PY,
  fn: () =>
    withKernel("deno-lmer-spec-test", (_env, dir) => {
      const spec = JSON.parse(Deno.readTextFileSync(`${dir}/kernel.json`));
      assert.equal(spec.display_name, "Deno (deno-lmer)");
      assert.equal(spec.language, "typescript");
      assert.equal(spec.env.NO_COLOR, "1");
      assert.equal(spec.interrupt_mode, "message");
      const argv = spec.argv as string[];
      assert.ok(argv[0].startsWith("/"), `python by absolute path: ${argv[0]}`);
      assert.equal(argv[1], `${dir}/proxy.py`);
      assert.ok(Deno.statSync(argv[1]).isFile, "proxy.py copied into the spec folder");
      assert.deepEqual(argv.slice(2), ["--deno", Deno.execPath(), "{connection_file}"]);
      return Promise.resolve();
    }),
});

Deno.test({
  name: "kernel proxy: notebook 02 run all, cells back to back, 5 times: no misplaced, " +
    "lost or after-idle output",
  ignore: !PY,
  fn: () =>
    withKernel("deno-lmer-bench", async (env) => {
      const r = await python([
        "tests/bench/kernel_runs.py",
        "--runs",
        "5",
        "--kernels",
        "deno-lmer",
        "--spec-dir",
        env.JUPYTER_PATH,
        "--deno",
        Deno.execPath(),
        "--json",
      ], env);
      const lines = r.out.trim().split("\n");
      let summary: Record<string, Record<string, number>> | undefined;
      try {
        summary = JSON.parse(lines[lines.length - 1]);
      } catch {
        // reported below
      }
      assert.ok(summary, `no summary from kernel_runs.py:\n${r.out}\n${r.err}`);
      const s = summary["deno-lmer"];
      assert.deepEqual(
        [s.runs, s.misplaced, s.lost, s.after_idle, s.no_idle],
        [5, 0, 0, 0, 0],
        r.out,
      );
      assert.ok(r.ok, r.out + r.err);
    }),
});

Deno.test({
  name: "kernel proxy: kernel_info, outputs, stdin, completion, interrupt, second client, " +
    "restart and shutdown pass through",
  ignore: !PY,
  fn: () =>
    withKernel("deno-lmer-passthrough", async (env) => {
      const r = await python(["tests/helpers/kernel_passthrough.py", "deno-lmer-passthrough"], env);
      assert.ok(r.ok, r.out + r.err);
      assert.match(r.out, /ok: shutdown/);
    }),
});
