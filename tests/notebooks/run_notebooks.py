#!/usr/bin/env python3
"""Execute the Deno notebooks headlessly with Jupyter's own client.

Works around the Deno 2.9.6 kernel's late-output defect (it can publish a
cell's outputs after its `idle` status; nbclient stops reading at `idle` and
drops them): after `idle`, keep reading iopub for a short grace period and
process late messages of the same cell.

Fails (exit 1) on any error output, on any code cell without output (a lost
output), and on any expected string (from --expect FILE, JSON
{notebook: [strings]}) missing from the outputs.

usage: run_notebooks.py [--kernel deno] [--repeat N] [--out DIR] [--expect F] NB...
"""
import argparse
import asyncio
import json
import os
import queue
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete

GRACE_SECONDS = 0.25


class LateOutputClient(NotebookClient):
    """NotebookClient that keeps reading iopub briefly after `idle`."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        assert self.kc is not None
        while True:
            msg = await self.kc.iopub_channel.get_msg(timeout=None)
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                deadline = time.monotonic() + GRACE_SECONDS
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    try:
                        late = await self.kc.iopub_channel.get_msg(timeout=left)
                    except (queue.Empty, asyncio.TimeoutError, TimeoutError):
                        return
                    if late["parent_header"].get("msg_id") != parent_msg_id:
                        continue
                    if late["msg_type"] == "status":
                        continue
                    try:
                        self.process_message(late, cell, cell_index)
                    except CellExecutionComplete:
                        pass


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
            all_text.append(text_of(o))
        # Every code cell in our notebooks ends with a value or prints: none may be empty.
        if not outs and not cell.source.rstrip().endswith(";"):
            problems.append(f"{name} cell {i}: no output (lost?)")
    blob = "\n".join(all_text)
    for s in expected.get(os.path.basename(name), []):
        if s not in blob:
            problems.append(f"{name}: expected output not found: {s!r}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--kernel", default="deno")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=None, help="write executed notebooks here")
    ap.add_argument("--inplace", action="store_true", help="save outputs into the notebooks")
    ap.add_argument("--expect", default=None)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    expected = json.load(open(args.expect)) if args.expect else {}
    failures = []
    for path in args.notebooks:
        for r in range(args.repeat):
            nb = nbformat.read(path, as_version=4)
            t0 = time.time()
            client = LateOutputClient(
                nb,
                kernel_name=args.kernel,
                timeout=args.timeout,
                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
            )
            try:
                client.execute()
            except Exception as e:  # a cell error stops execution: report it
                failures.append(f"{path} run {r + 1}: {type(e).__name__}: {str(e)[:2000]}")
                continue
            problems = check(nb, path, expected)
            failures += [f"run {r + 1}: {p}" for p in problems]
            print(f"{path} run {r + 1}: {len(nb.cells)} cells in {time.time() - t0:.1f}s,"
                  f" {'ok' if not problems else str(len(problems)) + ' problems'}", flush=True)
            if args.inplace and not problems:
                nbformat.write(nb, path)
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                nbformat.write(nb, os.path.join(args.out, os.path.basename(path)))
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
