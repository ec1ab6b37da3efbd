#!/usr/bin/env python3
"""Write the "Deno (deno-lmer)" kernel spec: Deno's own kernel behind the
message proxy of tools/kernel/proxy.py (outputs stay under their cells).

The spec folder gets kernel.json and a copy of proxy.py, so it keeps working
when the repository moves. kernel.json runs this very Python (it has pyzmq)
on the copy, with the absolute path of the given deno and NO_COLOR=1.

usage: kernelspec.py --deno PATH (--kernels-dir DIR | --user) [--name N] [--display D]
       [--stock]   (a plain spec running `deno jupyter --kernel` directly, for comparisons)

--user installs into the user's Jupyter data dir: $JUPYTER_DATA_DIR, else
`jupyter --data-dir` (jupyter_core), i.e. <data dir>/kernels/<name>.
Prints the folder written.
"""
import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "deno-lmer"
DISPLAY = "Deno (deno-lmer)"


def user_kernels_dir():
    d = os.environ.get("JUPYTER_DATA_DIR")
    if not d:
        try:
            from jupyter_core.paths import jupyter_data_dir
            d = jupyter_data_dir()
        except ImportError:
            d = os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter")
    return os.path.join(d, "kernels")


def write_spec(kernels_dir, deno, name=NAME, display=DISPLAY, stock=False, quiet_ms=None):
    """Write kernels_dir/name/kernel.json (+ proxy.py); return the folder."""
    deno = os.path.abspath(deno) if os.path.sep in deno else (shutil.which(deno) or deno)
    kdir = os.path.join(kernels_dir, name)
    os.makedirs(kdir, exist_ok=True)
    if stock:
        argv = [deno, "jupyter", "--kernel", "--conn", "{connection_file}"]
    else:
        proxy = os.path.join(kdir, "proxy.py")
        shutil.copyfile(os.path.join(HERE, "proxy.py"), proxy)
        argv = [sys.executable, proxy, "--deno", deno]
        if quiet_ms is not None:
            argv += ["--quiet-ms", str(quiet_ms)]
        argv.append("{connection_file}")
    spec = {
        "argv": argv,
        "display_name": display,
        "language": "typescript",
        "env": {"NO_COLOR": "1"},
        "metadata": {"debugger": False},
    }
    if not stock:
        # Interrupts go to the kernel as interrupt_request on control (Deno's
        # kernel handles it), not as SIGINT to the proxy.
        spec["interrupt_mode"] = "message"
    with open(os.path.join(kdir, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    return kdir


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deno", required=True)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--kernels-dir")
    where.add_argument("--user", action="store_true")
    ap.add_argument("--name", default=None)
    ap.add_argument("--display", default=None)
    ap.add_argument("--stock", action="store_true")
    ap.add_argument("--quiet-ms", type=float, default=None)
    args = ap.parse_args()
    try:
        import zmq  # noqa: F401  (the proxy needs it: fail now, not at kernel start)
    except ImportError:
        if not args.stock:
            sys.exit(f"{sys.executable} has no pyzmq (Debian: apt-get install python3-zmq; "
                     "elsewhere: pip install pyzmq)")
    kernels = args.kernels_dir or user_kernels_dir()
    name = args.name or ("deno-stock" if args.stock else NAME)
    display = args.display or ("Deno (stock)" if args.stock else DISPLAY)
    print(write_spec(kernels, args.deno, name, display, args.stock, args.quiet_ms))


if __name__ == "__main__":
    main()
