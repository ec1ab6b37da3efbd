#!/usr/bin/env python3
"""Execute the Deno notebooks headlessly with Jupyter's own client.

The kernel is the project's "Deno (deno-lmer)" kernel (tools/kernel/): Deno's
own kernel behind a message proxy that holds each cell's `idle` until the
cell's outputs have gone out and sends the next cell only then. (The Deno
2.9.6 kernel alone can publish a cell's outputs after its `idle`; nbclient
stops reading at `idle` and drops them, or, cells queued back to back, they
land under the next cell. tests/bench/kernel_runs.py measures both kernels.)
So nbclient's own NotebookClient is used as is, with no grace period.

Fails (exit 1) on any error output, on any code cell without output (a lost
output), on an execute_result whose execution_count is not its cell's (a
misplaced output), and on any expected string (from --expect FILE, JSON
{notebook: [strings]}) missing from the outputs. A notebook is saved
(--inplace, --save-to) only when every run of it passed every check.

The kernel does not depend on the user's Jupyter setup: unless --kernel names
an installed kernel spec, the runner writes the kernel spec (in a temporary
folder put first on JUPYTER_PATH, tools/kernel/kernelspec.py) with the deno
given by --deno (default: $DENO, else `deno` on PATH) and NO_COLOR=1, so no
ANSI colour codes end up in text outputs. NO_COLOR=1 is also set for an
installed kernel (a spec from `deno jupyter --install` sets none).

Saved notebooks are reproducible: no timing metadata, the notebook's own
kernelspec metadata kept, cell ids kept.

usage: run_notebooks.py [--deno PATH | --kernel NAME] [--repeat N] [--out DIR]
                        [--inplace | --save-to DIR] [--cwd DIR] [--expect F] NB...
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in tools/kernel/
REQUIRED = ("nbclient", "nbformat", "zmq")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                                "kernel"))


def reexec_with_jupyter_python():
    """This Python lacks Jupyter's packages: rerun under one that has them, if any."""
    seen = {os.path.realpath(sys.executable)}
    for cand in (os.environ.get("PYTHON"), shutil.which("python3"), shutil.which("python"),
                 "/usr/bin/python3", "/usr/local/bin/python3"):
        if not cand or not os.path.exists(cand) or os.path.realpath(cand) in seen:
            continue
        seen.add(os.path.realpath(cand))
        probe = subprocess.run([cand, "-c", "import " + ", ".join(REQUIRED)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            os.execv(cand, [cand] + sys.argv)
    sys.exit(f"{sys.argv[0]}: needs the Python packages {', '.join(REQUIRED)} "
             "(Debian: apt-get install jupyter-client python3-nbclient python3-nbformat "
             "python3-ipykernel; elsewhere: pip install nbclient nbformat ipykernel), "
             "or set PYTHON to an interpreter that has them")


try:
    import nbformat
    import zmq  # noqa: F401  (the kernel proxy runs with this Python)
    from nbclient import NotebookClient

    import kernelspec
except ImportError:
    reexec_with_jupyter_python()

def text_of(output):
    parts = []
    if "text" in output:
        parts.append(output["text"])
    for key in ("text/plain", "text/html", "image/svg+xml"):
        v = output.get("data", {}).get(key)
        if v:
            parts.append(v if isinstance(v, str) else "".join(v))
    return "\n".join(parts)


def check(nb, name, expected):
    problems = []
    all_text = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        outs = cell.get("outputs", [])
        for o in outs:
            if o.get("output_type") == "error":
                problems.append(f"{name} cell {i}: error {o.get('ename')}: {o.get('evalue')}")
            text = text_of(o)
            if "\x1b[" in text:
                problems.append(f"{name} cell {i}: ANSI colour codes in the output (kernel without NO_COLOR=1?)")
            all_text.append(text)
        for o in outs:
            n = o.get("execution_count")
            if o.get("output_type") == "execute_result" and n != cell.get("execution_count"):
                problems.append(f"{name} cell {i}: the result of execution {n} under execution "
                                f"{cell.get('execution_count')} (misplaced)")
        # Every code cell in our notebooks ends with a value or prints: none may be empty.
        if not outs and not cell.source.rstrip().endswith(";"):
            problems.append(f"{name} cell {i}: no output (lost?)")
    blob = "\n".join(all_text)
    for s in expected.get(os.path.basename(name), []):
        if s not in blob:
            problems.append(f"{name}: expected output not found: {s!r}")
    return problems


def own_kernel_spec(deno, folder):
    """Write the deno-lmer kernel spec running `deno` into folder/kernels/; return its name."""
    name = "deno-lmer-run"
    kernelspec.write_spec(os.path.join(folder, "kernels"), deno, name, "Deno (deno-lmer runner)")
    return name


def clean_metadata(nb, original):
    """What may differ between two runs of unchanged code goes: timings, and
    the kernel spec name of the runner (the notebook keeps its own)."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    if "kernelspec" in original.metadata:
        nb.metadata["kernelspec"] = copy.deepcopy(original.metadata["kernelspec"])
    nb.metadata.pop("widgets", None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--kernel", default=None,
                    help="an installed kernel spec to use instead of the runner's own")
    ap.add_argument("--deno", default=None,
                    help="the deno binary of the runner's kernel spec (default: $DENO, or deno on PATH)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=None, help="write executed notebooks here (also failed ones)")
    ap.add_argument("--inplace", action="store_true",
                    help="save the outputs into the notebooks (only when every check passed)")
    ap.add_argument("--save-to", default=None,
                    help="save passing notebooks into this folder (only when every check passed)")
    ap.add_argument("--cwd", default=None,
                    help="the kernel's working folder (default: each notebook's folder)")
    ap.add_argument("--expect", default=None)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    expected = json.load(open(args.expect)) if args.expect else {}
    # Inherited by every kernel (jupyter_client starts kernels with this
    # process's environment plus the spec's env).
    os.environ["NO_COLOR"] = "1"
    spec_dir = None
    kernel = args.kernel
    if kernel is None:
        deno = args.deno or os.environ.get("DENO") or shutil.which("deno")
        if not deno:
            print("FAIL: no deno found: put deno on PATH, or pass --deno PATH or --kernel NAME",
                  file=sys.stderr)
            return 1
        spec_dir = tempfile.TemporaryDirectory(prefix="deno-lmer-kernel-")
        kernel = own_kernel_spec(os.path.abspath(deno) if os.path.sep in deno else deno,
                                 spec_dir.name)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [spec_dir.name] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    failures = []
    try:
        for path in args.notebooks:
            original = nbformat.read(path, as_version=4)
            passed = None  # the last run's notebook, if every run passed
            ok = True
            for r in range(args.repeat):
                nb = copy.deepcopy(original)
                t0 = time.time()
                client = NotebookClient(
                    nb,
                    kernel_name=kernel,
                    timeout=args.timeout,
                    record_timing=False,
                    resources={"metadata": {
                        "path": os.path.abspath(args.cwd) if args.cwd
                        else os.path.dirname(os.path.abspath(path)),
                    }},
                )
                try:
                    client.execute()
                    problems = check(nb, path, expected)
                except Exception as e:  # a cell error stops execution: report it
                    problems = [f"{path}: {type(e).__name__}: {str(e)[:2000]}"]
                failures += [f"run {r + 1}: {p}" for p in problems]
                print(f"{path} run {r + 1}: {len(nb.cells)} cells in {time.time() - t0:.1f}s,"
                      f" {'ok' if not problems else str(len(problems)) + ' problems'}", flush=True)
                clean_metadata(nb, original)
                if problems:
                    ok = False
                else:
                    passed = nb
                if args.out:
                    os.makedirs(args.out, exist_ok=True)
                    nbformat.write(nb, os.path.join(args.out, os.path.basename(path)))
            targets = ([path] if args.inplace else []) + \
                ([os.path.join(args.save_to, os.path.basename(path))] if args.save_to else [])
            if ok and passed is not None:
                for t in targets:
                    nbformat.write(passed, t)
            elif targets:
                print(f"{path}: not saved (a check failed)", file=sys.stderr, flush=True)
    finally:
        if spec_dir is not None:
            spec_dir.cleanup()
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
