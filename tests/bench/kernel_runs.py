#!/usr/bin/env python3
"""Run-all of a notebook through jupyter_client, cells sent back to back,
with the project's kernel (Deno behind tools/kernel/proxy.py) and the stock
kernel (`deno jupyter --kernel` directly) in the same run; count the outputs
that a client would misplace, lose, or see only after the cell's idle.

For each run: a fresh kernel; every code cell's execute_request sent at once
(as Run All does); then iopub read until every cell's idle arrived and
--drain seconds more passed. Per cell, compared with the committed notebook's
output types of that cell:
- misplaced: outputs tagged with this cell's id beyond what the cell has
  (they belong to another cell), plus execute_results whose execution_count
  is another cell's;
- lost: outputs of the cell that never arrived tagged with its id;
- after_idle: outputs tagged with the cell's id that arrived after its idle
  (nbclient, nbconvert and the classic notebook drop them).

Kernel specs are written into a temporary folder put first on JUPYTER_PATH
(tools/kernel/kernelspec.py); the user's Jupyter setup is not used.

usage: kernel_runs.py [--runs 50] [--kernels deno-lmer,stock] [--deno PATH]
                      [--notebook notebooks/02-small-clusters.ipynb] [--json]
Exit code 1 when the project's kernel had any problem.
"""
import argparse
import collections
import json
import os
import queue
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in tools/kernel/
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "kernel"))

from jupyter_client.manager import KernelManager  # noqa: E402

import kernelspec  # noqa: E402

OUTPUT_TYPES = ("execute_result", "display_data", "update_display_data", "stream", "error")
SPEC_NAMES = {"deno-lmer": "deno-lmer-bench", "stock": "deno-stock-bench"}


def code_cells(path):
    nb = json.load(open(path))
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        cells.append((src, [o["output_type"] for o in c.get("outputs", [])]))
    return cells


def run_once(kernel_name, cells, cwd, drain, timeout):
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(cwd=cwd)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        ids = [kc.execute(src, allow_stdin=False) for src, _ in cells]
        index = {m: i for i, m in enumerate(ids)}
        idle_at = {}
        got = collections.defaultdict(list)  # cell -> [(type, after_idle, exec_count)]
        stray = 0  # outputs tagged with no cell of this run
        deadline = time.monotonic() + timeout
        end = None
        while True:
            now = time.monotonic()
            if end is None and len(idle_at) == len(ids):
                end = now + drain
            if end is not None and now >= end:
                break
            if now >= deadline:
                break
            wait = (end if end is not None else deadline) - now
            try:
                msg = kc.get_iopub_msg(timeout=max(0.01, wait))
            except queue.Empty:
                continue
            i = index.get(msg["parent_header"].get("msg_id"))
            t = msg["msg_type"]
            if t == "status":
                if i is not None and msg["content"]["execution_state"] == "idle":
                    idle_at.setdefault(i, time.monotonic())
                continue
            if t not in OUTPUT_TYPES:
                continue
            if i is None:
                stray += 1
                continue
            got[i].append((t, i in idle_at, msg["content"].get("execution_count")))
        counts = {"misplaced": stray, "lost": 0, "after_idle": 0, "no_idle": len(ids) - len(idle_at)}
        details = []
        for i, (_, expected) in enumerate(cells):
            have = collections.Counter(t for t, _, _ in got[i])
            want = collections.Counter(expected)
            extra = sum((have - want).values())
            # Fresh kernel, no silent cells: cell i runs as execution_count i + 1.
            wrong_count = sum(1 for t, _, n in got[i] if t == "execute_result" and n != i + 1)
            mis = max(extra, wrong_count)
            lost = sum((want - have).values())
            late = sum(1 for _, after, _ in got[i] if after)
            counts["misplaced"] += mis
            counts["lost"] += lost
            counts["after_idle"] += late
            if mis or lost or late:
                details.append(f"cell {i}: got {[t for t, _, _ in got[i]]} want {expected}"
                               f" (after idle: {late})")
        return counts, details
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--kernels", default="deno-lmer,stock")
    ap.add_argument("--deno", default=os.environ.get("DENO") or shutil.which("deno"))
    ap.add_argument("--notebook", default=os.path.join(ROOT, "notebooks", "02-small-clusters.ipynb"))
    ap.add_argument("--drain", type=float, default=1.0,
                    help="seconds to keep reading iopub after the last idle")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--spec-dir", default=None,
                    help="a JUPYTER_PATH folder that already holds the kernel specs "
                         "(kernels/deno-lmer-bench, kernels/deno-stock-bench)")
    ap.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    args = ap.parse_args()
    if not args.deno:
        sys.exit("no deno: pass --deno PATH")
    kernels = [k for k in args.kernels.split(",") if k]
    tmp = None
    if args.spec_dir:
        spec_root = args.spec_dir
    else:
        tmp = tempfile.TemporaryDirectory(prefix="deno-lmer-bench-")
        spec_root = tmp.name
        for k in kernels:
            kernelspec.write_spec(os.path.join(spec_root, "kernels"), args.deno, SPEC_NAMES[k],
                                  f"bench {k}", stock=(k == "stock"))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [spec_root] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    os.environ["NO_COLOR"] = "1"
    cells = code_cells(args.notebook)
    cwd = os.path.dirname(os.path.abspath(args.notebook))
    totals = {k: collections.Counter() for k in kernels}
    bad_runs = {k: 0 for k in kernels}
    seconds = {k: 0.0 for k in kernels}
    try:
        for r in range(args.runs):
            for k in kernels:  # interleaved: both kernels see the same machine load
                t0 = time.monotonic()
                counts, details = run_once(SPEC_NAMES[k], cells, cwd, args.drain, args.timeout)
                dt = time.monotonic() - t0
                seconds[k] += dt
                totals[k].update(counts)
                if any(counts.values()):
                    bad_runs[k] += 1
                print(f"run {r + 1:3d} {k:10s} {dt:5.1f}s misplaced {counts['misplaced']} "
                      f"lost {counts['lost']} after_idle {counts['after_idle']}"
                      + (f" no_idle {counts['no_idle']}" if counts["no_idle"] else "")
                      + ("".join("\n    " + d for d in details)), flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    summary = {}
    for k in kernels:
        t = totals[k]
        summary[k] = {"runs": args.runs, "runs_with_problems": bad_runs[k],
                      "misplaced": t["misplaced"], "lost": t["lost"],
                      "after_idle": t["after_idle"], "no_idle": t["no_idle"],
                      "mean_seconds": round(seconds[k] / max(1, args.runs), 2)}
        print(f"{k}: {args.runs} run-alls of {os.path.basename(args.notebook)} "
              f"({len(cells)} code cells each): {bad_runs[k]} with problems; "
              f"misplaced {t['misplaced']}, lost {t['lost']}, after idle {t['after_idle']}, "
              f"mean {summary[k]['mean_seconds']} s per run")
    if args.json:
        print(json.dumps(summary))
    p = summary.get("deno-lmer")
    return 1 if p and (p["misplaced"] or p["lost"] or p["after_idle"] or p["no_idle"]) else 0


if __name__ == "__main__":
    sys.exit(main())
