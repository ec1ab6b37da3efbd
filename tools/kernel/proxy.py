#!/usr/bin/env python3
"""Run Deno's Jupyter kernel behind a message proxy that keeps every output
under its own cell.

The Deno 2.9.6 kernel publishes a cell's outputs from a separate queue: an
`execute_result` (formatted asynchronously) or a `stream` can reach iopub
*after* the cell's `idle` status, and it is tagged with whatever request the
kernel is executing at that moment -- with the *next* cell's id when cells are
queued back to back (Run All). Clients that stop reading at `idle` (nbclient,
nbconvert, the classic notebook) drop such outputs or show them under the
wrong cell.

This proxy sits between the client and `deno jupyter --kernel`:

1. It forwards one `execute_request` at a time. The next one waits in the
   proxy until the previous cell's `idle` has been forwarded, so the kernel
   can never tag a late output with the next cell's id.
2. It holds the cell's `idle` until the cell is finished: the kernel's
   `execute_reply` and `idle` have arrived, then a *drain marker* has gone
   through the kernel's output queue -- a silent `execute_request` of
   `Deno.jupyter.broadcast("deno_lmer_drained", ...)`, whose message travels
   the same queue as the cell's outputs, so when it reaches iopub every output
   the cell queued before it has gone out -- and finally a short quiet period
   (--quiet-ms, default 20) passed with no iopub message for the cell. Outputs
   that the kernel tags with the marker's id (queued after the marker started)
   are re-tagged with the cell's id and re-signed. The marker's own messages
   (status, execute_input, its reply and the broadcast) never reach clients;
   it does not increment the execution count (silent, no history).

Everything else passes through unchanged (frames after the routing prefix are
forwarded byte for byte): shell requests other than `execute_request`
(kernel_info, complete, inspect, is_complete, comm_*, history), the control
channel (interrupt, shutdown/restart), stdin (`input_request`/`input_reply`),
the heartbeat, and iopub messages of other requests. Deno's kernel answers on
the connection a request came from but drops ZeroMQ routing frames, so the
proxy keeps each request's routing prefix by msg_id and routes the reply
(matched by its parent msg_id) back to the client that asked.

ZeroMQ binding: pyzmq (Debian's python3-zmq, a dependency of jupyter-client,
so present wherever Jupyter is), chosen over the npm `zeromq` package because
it needs no native add-on build inside Deno and ships with every Jupyter
install.

usage: proxy.py --deno PATH [--quiet-ms N] [--no-marker] [--log FILE] CONNECTION_FILE
"""
import argparse
import ctypes
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import zmq

DELIM = b"<IDS|MSG>"
MARKER_TYPE = "deno_lmer_drained"
OUTPUT_TYPES = {"execute_result", "display_data", "update_display_data", "stream", "error",
                "clear_output"}


def free_port(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def split(frames):
    """(routing prefix, frames from the delimiter on) of a wire message."""
    for i, f in enumerate(frames):
        if f == DELIM:
            return frames[:i], frames[i:]
    raise ValueError("no <IDS|MSG> delimiter")


class Proxy:
    def __init__(self, conn, deno, quiet_ms, marker, log):
        self.conn = conn
        self.key = conn.get("key", "").encode()
        self.deno = deno
        self.quiet = quiet_ms / 1000.0
        self.use_marker = marker
        self.logf = log
        self.session = uuid.uuid4().hex
        self.ctx = zmq.Context()
        self.child = None
        self.exit_code = None
        # msg_id of a shell/control request -> the client's routing prefix
        self.shell_routes = {}
        self.control_routes = {}
        # queued execute_requests: (prefix, frames from the delimiter)
        self.queue = []
        self.cell = None  # the execute_request in flight (dict)
        self.markers = {}  # marker msg_id -> the cell dict it drains
        self.probe_ids = set()
        self.ready = False

    # -- logging and signing -------------------------------------------------
    def log(self, *a):
        if self.logf:
            self.logf.write("%.3f %s\n" % (time.monotonic(), " ".join(str(x) for x in a)))
            self.logf.flush()

    def sign(self, parts):
        if not self.key:
            return b""
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    def make(self, msg_type, content, parent=None):
        header = {"msg_id": uuid.uuid4().hex, "session": self.session, "username": "deno-lmer-proxy",
                  "date": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
                  "msg_type": msg_type, "version": "5.3"}
        parts = [json.dumps(x).encode() for x in (header, parent or {}, {}, content)]
        return header["msg_id"], [DELIM, self.sign(parts)] + parts

    def retag(self, frames, parent_header):
        """The same message with another parent_header, re-signed."""
        parent = json.dumps(parent_header).encode()
        parts = [frames[2], parent, frames[4], frames[5]]
        return [DELIM, self.sign(parts)] + parts + frames[6:]

    # -- sockets and the kernel process ---------------------------------------
    def setup(self):
        c = self.conn
        transport, ip = c.get("transport", "tcp"), c.get("ip", "127.0.0.1")

        def url(port):
            return f"{transport}://{ip}:{port}" if transport == "tcp" else f"{transport}://{ip}-{port}"

        def bind(kind, port):
            s = self.ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 1000)
            if kind == zmq.ROUTER:
                s.setsockopt(zmq.ROUTER_HANDOVER, 1)
            s.bind(url(port))
            return s

        self.c_shell = bind(zmq.ROUTER, c["shell_port"])
        self.c_control = bind(zmq.ROUTER, c["control_port"])
        self.c_stdin = bind(zmq.ROUTER, c["stdin_port"])
        self.c_iopub = bind(zmq.PUB, c["iopub_port"])
        self.c_hb = bind(zmq.ROUTER, c["hb_port"])
        self.start_kernel()

    def start_kernel(self):
        """Pick ports for Deno's kernel, connect to them and start it."""
        c = self.conn
        kip = "127.0.0.1"
        inner = {"transport": "tcp", "ip": kip, "key": c.get("key", ""),
                 "signature_scheme": c.get("signature_scheme", "hmac-sha256"),
                 "kernel_name": c.get("kernel_name", "")}
        for name in ("shell_port", "control_port", "stdin_port", "iopub_port", "hb_port"):
            inner[name] = free_port(kip)
        fd, self.inner_file = tempfile.mkstemp(prefix="deno-lmer-kernel-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(inner, f)

        def connect(kind, port):
            s = self.ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(f"tcp://{kip}:{port}")
            return s

        self.k_shell = connect(zmq.DEALER, inner["shell_port"])
        self.k_control = connect(zmq.DEALER, inner["control_port"])
        self.k_stdin = connect(zmq.DEALER, inner["stdin_port"])
        self.k_iopub = connect(zmq.SUB, inner["iopub_port"])
        self.k_iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.k_hb = connect(zmq.DEALER, inner["hb_port"])

        def die_with_parent():
            try:  # Linux: the kernel goes when the proxy goes, even on SIGKILL
                ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
            except Exception:
                pass

        self.child = subprocess.Popen(
            [self.deno, "jupyter", "--kernel", "--conn", self.inner_file],
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None)
        self.log("kernel pid", self.child.pid, "inner", inner)

    # -- the cell state machine -----------------------------------------------
    def send_next_execute(self):
        if self.cell is not None or not self.queue or not self.ready:
            return
        prefix, frames = self.queue.pop(0)
        header = json.loads(frames[2])
        self.cell = {"id": header["msg_id"], "header": header, "prefix": prefix, "reply": False,
                     "idle": None, "marker": None, "marker_done": False, "marker_sent_at": None,
                     "last": time.monotonic()}
        self.shell_routes[header["msg_id"]] = prefix
        self.log("execute ->", header["msg_id"])
        self.k_shell.send_multipart(frames)

    def maybe_send_marker(self):
        cell = self.cell
        if cell is None or not cell["reply"] or cell["idle"] is None or cell["marker"] is not None:
            return
        if not self.use_marker:
            cell["marker"] = "none"
            cell["marker_done"] = True
            cell["last"] = time.monotonic()
            return
        mid, frames = self.make("execute_request", {
            "code": f'Deno.jupyter.broadcast("{MARKER_TYPE}", {{}})',
            "silent": True, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": False})
        cell["marker"] = mid
        cell["marker_sent_at"] = time.monotonic()
        self.markers[mid] = cell
        while len(self.markers) > 100:  # keep the recent ones: late retags only
            self.markers.pop(next(iter(self.markers)))
        self.log("marker ->", mid, "for", cell["id"])
        self.k_shell.send_multipart(frames)

    def finish_if_quiet(self):
        cell = self.cell
        if cell is None or not cell["marker_done"]:
            return
        if time.monotonic() - cell["last"] < self.quiet:
            return
        self.log("idle ->", cell["id"])
        self.c_iopub.send_multipart(cell["idle"])
        self.cell = None
        self.send_next_execute()

    def timeout(self):
        """Seconds until the next timer of the state machine, or None."""
        cell = self.cell
        if cell is None:
            return None
        if cell["marker_done"]:
            return max(0.0, self.quiet - (time.monotonic() - cell["last"]))
        if cell["marker_sent_at"] is not None:
            # Never wait forever on the marker (a kernel that cannot run it).
            left = 10.0 - (time.monotonic() - cell["marker_sent_at"])
            if left <= 0:
                self.log("marker timeout", cell["marker"])
                cell["marker_done"] = True
                cell["last"] = time.monotonic()
                return self.quiet
            return left
        return None

    # -- message handlers -----------------------------------------------------
    def on_client_shell(self, msg):
        prefix, frames = split(msg)
        header = json.loads(frames[2])
        if header.get("msg_type") == "execute_request":
            self.queue.append((prefix, frames))
            self.send_next_execute()
        else:
            self.shell_routes[header.get("msg_id")] = prefix
            self.k_shell.send_multipart(frames)

    def on_kernel_shell(self, msg):
        _, frames = split(msg)
        parent = json.loads(frames[3]).get("msg_id")
        if parent in self.markers or parent in self.probe_ids:
            return  # the reply to the proxy's own marker or readiness probe
        prefix = self.shell_routes.pop(parent, None)
        if prefix is not None:
            self.c_shell.send_multipart(prefix + frames)
        cell = self.cell
        if cell is not None and parent == cell["id"]:
            cell["reply"] = True
            cell["last"] = time.monotonic()
            self.maybe_send_marker()

    def on_kernel_iopub(self, msg):
        _, frames = split(msg)
        header = json.loads(frames[2])
        parent = json.loads(frames[3]).get("msg_id")
        mtype = header.get("msg_type")
        cell = self.cell
        if parent in self.probe_ids:
            return
        if parent in self.markers:
            owner = self.markers[parent]
            if mtype == MARKER_TYPE:
                owner["marker_done"] = True
                owner["last"] = time.monotonic()
                self.log("marker drained", parent)
            elif mtype in ("status", "execute_input"):
                pass  # the marker's own busy/idle and input: not the client's business
            else:
                # A late output of the cell, tagged with the marker's id.
                self.log("retag", mtype, "from marker to", owner["id"])
                owner["last"] = time.monotonic()
                self.c_iopub.send_multipart(self.retag(frames, owner["header"]))
            return
        if cell is not None and parent == cell["id"]:
            cell["last"] = time.monotonic()
            if mtype == "status" and json.loads(frames[5]).get("execution_state") == "idle":
                cell["idle"] = frames
                self.maybe_send_marker()
                return
            if cell["idle"] is not None:
                self.log("late", mtype, "for", cell["id"], "(held idle)")
        self.c_iopub.send_multipart(frames)

    def on_client_control(self, msg):
        prefix, frames = split(msg)
        header = json.loads(frames[2])
        self.control_routes[header.get("msg_id")] = prefix
        self.k_control.send_multipart(frames)

    def on_kernel_control(self, msg):
        _, frames = split(msg)
        parent = json.loads(frames[3]).get("msg_id")
        prefix = self.control_routes.pop(parent, None)
        if prefix is not None:
            self.c_control.send_multipart(prefix + frames)

    def on_kernel_stdin(self, msg):
        _, frames = split(msg)
        parent = json.loads(frames[3]).get("msg_id")
        cell = self.cell
        prefix = cell["prefix"] if cell is not None and cell["id"] == parent else None
        if prefix is None and getattr(self, "last_stdin_prefix", None) is not None:
            prefix = self.last_stdin_prefix
        if prefix is not None:
            # The client's stdin socket has the same identity as its shell one.
            self.c_stdin.send_multipart(prefix[:1] + frames)

    def on_client_stdin(self, msg):
        prefix, frames = split(msg)
        self.last_stdin_prefix = prefix
        self.k_stdin.send_multipart(frames)

    def on_ready(self):
        if not self.ready:
            self.ready = True
            self.log("kernel ready")
            self.send_next_execute()

    # -- main loop ------------------------------------------------------------
    def kernel_sockets(self):
        return (self.k_shell, self.k_control, self.k_stdin, self.k_iopub, self.k_hb)

    def run(self):
        self.setup()
        poller = zmq.Poller()
        for s in (self.c_shell, self.c_control, self.c_stdin, self.c_hb) + self.kernel_sockets():
            poller.register(s, zmq.POLLIN)
        starts = 1
        # Wait for the kernel's iopub to reach us before letting execute
        # requests through (a PUB drops what it sends before the SUB joined):
        # probe with kernel_info_request until its status arrives.
        next_probe = 0.0
        def make_handlers():
            return {
                self.c_shell: self.on_client_shell,
                self.k_shell: self.on_kernel_shell,
                self.k_iopub: self.on_kernel_iopub,
                self.c_control: self.on_client_control,
                self.k_control: self.on_kernel_control,
                self.k_stdin: self.on_kernel_stdin,
                self.c_stdin: self.on_client_stdin,
                self.c_hb: lambda m: self.k_hb.send_multipart(m),
                self.k_hb: lambda m: self.c_hb.send_multipart(m),
            }
        handlers = make_handlers()
        while True:
            code = self.child.poll()
            if code is not None and not self.ready and starts < 5:
                # Deno's kernel could not start, most likely because another
                # process took one of the ports picked for it in between
                # (AddrInUse): pick new ports and start it again.
                self.log("kernel exited during start-up with", code, "- restarting")
                for s in self.kernel_sockets():
                    poller.unregister(s)
                    s.close()
                try:
                    os.unlink(self.inner_file)
                except OSError:
                    pass
                self.start_kernel()
                starts += 1
                for s in self.kernel_sockets():
                    poller.register(s, zmq.POLLIN)
                handlers = make_handlers()
                next_probe = 0.0
                continue
            if code is not None:
                self.exit_code = code
                return
            now = time.monotonic()
            if not self.ready and now >= next_probe:
                mid, frames = self.make("kernel_info_request", {})
                self.probe_ids.add(mid)
                self.k_shell.send_multipart(frames)
                next_probe = now + 0.2
            t = self.timeout()
            waits = [0.5]
            if t is not None:
                waits.append(t)
            if not self.ready:
                waits.append(max(0.0, next_probe - now))
            events = dict(poller.poll(int(min(waits) * 1000) + 1))
            for s in events:
                while True:
                    try:
                        m = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        if s is self.k_iopub and not self.ready:
                            parent = json.loads(split(m)[1][3]).get("msg_id")
                            if parent in self.probe_ids:
                                self.on_ready()
                                continue
                        handlers[s](m)
                    except Exception as e:  # a malformed message must not stop the proxy
                        self.log("error", type(e).__name__, e)
            self.timeout()
            self.finish_if_quiet()

    def close(self):
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(3)
            except subprocess.TimeoutExpired:
                self.child.kill()
        try:
            os.unlink(self.inner_file)
        except (OSError, AttributeError):
            pass
        self.ctx.destroy(linger=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("connection_file")
    ap.add_argument("--deno", default=os.environ.get("DENO") or "deno")
    ap.add_argument("--quiet-ms", type=float, default=20.0)
    ap.add_argument("--no-marker", action="store_true")
    ap.add_argument("--log", default=os.environ.get("DENO_LMER_PROXY_LOG"))
    args = ap.parse_args()
    with open(args.connection_file) as f:
        conn = json.load(f)
    log = open(args.log, "a") if args.log else None
    proxy = Proxy(conn, args.deno, args.quiet_ms, not args.no_marker, log)

    def on_term(signum, frame):
        proxy.close()
        sys.exit(0)

    def on_int(signum, frame):  # interrupt_mode "signal": pass it on
        if proxy.child is not None and proxy.child.poll() is None:
            proxy.child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_int)
    try:
        proxy.run()
    finally:
        proxy.close()
    return proxy.exit_code or 0


if __name__ == "__main__":
    sys.exit(main())
