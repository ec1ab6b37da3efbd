/**
 * `deno task kernel:install`: install the "Deno (deno-lmer)" Jupyter kernel
 * for this user — Deno's own kernel (`deno jupyter --kernel`, of the deno
 * running this task) behind the message proxy of tools/kernel/proxy.py, which
 * keeps every output under its own cell (the Deno 2.9.6 kernel publishes some
 * outputs after a cell's `idle`, so Run All can drop them or show them under
 * the next cell).
 *
 * Writes `<Jupyter data dir>/kernels/deno-lmer/` ($JUPYTER_DATA_DIR, else
 * `jupyter --data-dir`): kernel.json (absolute paths of a Python with pyzmq
 * and of this deno, NO_COLOR=1, interrupts as messages), a copy of proxy.py
 * and Deno's logos.
 *
 * usage: deno run -A tools/kernel/install.ts [--kernels-dir DIR] [--name N] [--display D]
 * @module
 */
import { findPython, missingPythonHelp } from "../python.ts";

const HERE = new URL("./", import.meta.url);
const MODULES = ["zmq"];

/** Options of {@link installKernel}. */
export interface InstallOptions {
  /** The `kernels` folder to write into (default: the user's Jupyter data dir's). */
  kernelsDir?: string;
  /** The kernel spec's name (default `deno-lmer`). */
  name?: string;
  /** The display name (default `Deno (deno-lmer)`). */
  display?: string;
  /** The deno the kernel runs (default: this one). */
  deno?: string;
}

/** Write the kernel spec; return its folder. Throws when no Python has pyzmq. */
export async function installKernel(opts: InstallOptions = {}): Promise<string> {
  const python = findPython(MODULES);
  if (!python) throw new Error(missingPythonHelp(MODULES) + " (Debian: python3-zmq)");
  const args = [
    new URL("kernelspec.py", HERE).pathname,
    "--deno",
    opts.deno ?? Deno.execPath(),
    ...(opts.kernelsDir ? ["--kernels-dir", opts.kernelsDir] : ["--user"]),
    ...(opts.name ? ["--name", opts.name] : []),
    ...(opts.display ? ["--display", opts.display] : []),
  ];
  const out = await new Deno.Command(python, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`kernelspec.py failed: ${dec.decode(out.stderr)}`);
  const dir = dec.decode(out.stdout).trim();
  await copyDenoLogos(opts.deno ?? Deno.execPath(), dir);
  return dir;
}

/** Deno's kernel logos, from a `deno jupyter --install` into a scratch folder (best effort). */
async function copyDenoLogos(deno: string, dir: string): Promise<void> {
  const scratch = await Deno.makeTempDir({ prefix: "deno-lmer-logos-" });
  try {
    await new Deno.Command(deno, {
      args: ["jupyter", "--install", "--force"],
      env: { XDG_DATA_HOME: scratch, JUPYTER_DATA_DIR: `${scratch}/jupyter` },
      stdout: "null",
      stderr: "null",
    }).output();
    const from = `${scratch}/jupyter/kernels/deno`;
    for (const e of Deno.readDirSync(from)) {
      if (e.name.startsWith("logo-")) await Deno.copyFile(`${from}/${e.name}`, `${dir}/${e.name}`);
    }
  } catch {
    // no logos: the kernel works without them
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

if (import.meta.main) {
  const opts: InstallOptions = {};
  const a = Deno.args;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === "--kernels-dir") opts.kernelsDir = a[++i];
    else if (a[i] === "--name") opts.name = a[++i];
    else if (a[i] === "--display") opts.display = a[++i];
    else {
      console.error(`kernel:install: unknown argument ${a[i]}`);
      Deno.exit(2);
    }
  }
  try {
    const dir = await installKernel(opts);
    console.log(`Installed the Jupyter kernel "${opts.display ?? "Deno (deno-lmer)"}" in ${dir}`);
  } catch (e) {
    console.error(`kernel:install: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
