/**
 * Find a Python that has Jupyter's packages, wherever it is installed: the
 * notebook tools (tools/notebooks.ts, tests/notebooks/run_notebooks.py) and
 * the HTML export (nbconvert) run with it.
 *
 * Candidates, first that imports every module wins: `$PYTHON`, `python3` and
 * `python` on PATH, the interpreter of `jupyter` on PATH (its `#!` line: a
 * `pip install --user jupyter` or a venv), then the usual system locations
 * (`/usr/bin/python3`, where Debian's `python3-nbclient` lives, when another
 * python3 such as pyenv's comes first on PATH).
 * @module
 */

/** The directories of PATH. */
function pathDirs(): string[] {
  const sep = Deno.build.os === "windows" ? ";" : ":";
  return (Deno.env.get("PATH") ?? "").split(sep).filter((d) => d.length);
}

/** The first executable file called `name` on PATH. */
export function which(name: string): string | undefined {
  const names = Deno.build.os === "windows" ? [`${name}.exe`, `${name}.cmd`, name] : [name];
  for (const dir of pathDirs()) {
    for (const n of names) {
      const path = `${dir}/${n}`;
      try {
        const st = Deno.statSync(path);
        if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The interpreter named on the `#!` line of a script, if it is a Python. */
function shebangPython(script: string | undefined): string | undefined {
  if (!script) return undefined;
  try {
    const first = Deno.readTextFileSync(script).split("\n", 1)[0];
    const m = first.match(/^#!\s*(\S+)(?:\s+(\S+))?/);
    if (!m) return undefined;
    const cmd = m[1].endsWith("/env") ? m[2] : m[1];
    return cmd && /python/.test(cmd) ? cmd : undefined;
  } catch {
    return undefined;
  }
}

function candidates(): string[] {
  const list = [
    Deno.env.get("PYTHON"),
    which("python3"),
    which("python"),
    shebangPython(which("jupyter")),
    "/usr/bin/python3",
    "/usr/local/bin/python3",
    "/opt/homebrew/bin/python3",
  ].filter((c): c is string => !!c);
  return [...new Set(list)];
}

const found = new Map<string, string | undefined>();

/**
 * The first Python that can import all of `modules` (e.g. `["nbclient",
 * "nbformat"]`), or undefined when none can.
 */
export function findPython(modules: readonly string[]): string | undefined {
  const key = modules.join(",");
  if (found.has(key)) return found.get(key);
  let result: string | undefined;
  for (const py of candidates()) {
    try {
      const ok = new Deno.Command(py, {
        args: ["-c", `import ${modules.join(", ")}`],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
      if (ok) {
        result = py;
        break;
      }
    } catch {
      // not runnable
    }
  }
  found.set(key, result);
  return result;
}

/** Why no Python was found, and what to install. */
export function missingPythonHelp(modules: readonly string[]): string {
  return `no Python with ${modules.join(", ")} found (tried: ${candidates().join(", ")}). ` +
    "Install Jupyter's packages (Debian: apt-get install jupyter-client python3-nbclient " +
    "python3-nbformat jupyter-nbconvert python3-ipykernel; elsewhere: pip install nbclient " +
    "nbformat nbconvert ipykernel) or set PYTHON to an interpreter that has them.";
}
