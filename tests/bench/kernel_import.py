#!/usr/bin/env python3
"""Benchmark: first import of mod.ts in a warm Deno Jupyter kernel.

Starts the Deno kernel (already warm: the module cache is filled), runs one
trivial cell, then times the cell `import * as lmer from "../mod.ts"` from
execute_request to idle, as a notebook user would wait for it. Repeats with
fresh kernels and prints the median. Target: under 1 s.

usage: /usr/bin/python3 tests/bench/kernel_import.py [runs]
"""
import os
import statistics
import sys
import time

from jupyter_client.manager import start_new_kernel

NB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notebooks")


def run_cell(kc, code):
    msg_id = kc.execute(code)
    t0 = time.perf_counter()
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            raise RuntimeError(msg["content"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return time.perf_counter() - t0


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times = []
    for _ in range(runs):
        km, kc = start_new_kernel(kernel_name="deno", cwd=NB_DIR)
        try:
            run_cell(kc, "1 + 1")
            times.append(run_cell(kc, 'import * as lmer from "../mod.ts"; Object.keys(lmer).length'))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    print(f"first import of mod.ts in a warm kernel: median {statistics.median(times):.3f} s"
          f" (runs: {', '.join(f'{t:.3f}' for t in times)}); target < 1 s")


if __name__ == "__main__":
    main()
