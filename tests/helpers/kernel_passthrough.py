#!/usr/bin/env python3
"""Check that the deno-lmer kernel (Deno behind tools/kernel/proxy.py) passes
everything but the cell sequencing through: kernel_info, completion,
is_complete, stream / display_data / error outputs under their cells, stdin
(prompt() answered through input_request/input_reply), interrupt (on
control), restart, and a second client on the same kernel.

The kernel spec must already be on JUPYTER_PATH (see tests/kernel_proxy_test.ts).
Prints one line per check; exit code 1 on the first failure.

usage: kernel_passthrough.py KERNEL_NAME
"""
import queue
import sys
import time

from jupyter_client.manager import KernelManager


def fail(what):
    print(f"FAIL: {what}", flush=True)
    sys.exit(1)


def ok(what):
    print(f"ok: {what}", flush=True)


def run_cell(kc, code, stdin_answer=None, timeout=60):
    """Execute code; return (reply content, [(msg_type, content)] of its outputs)."""
    msg_id = kc.execute(code, allow_stdin=stdin_answer is not None)
    outputs = []
    reply = None
    idle = False
    deadline = time.monotonic() + timeout
    while not (idle and reply is not None):
        if time.monotonic() > deadline:
            fail(f"timeout running {code!r} (reply: {reply is not None}, idle: {idle})")
        if stdin_answer is not None:
            try:
                m = kc.get_stdin_msg(timeout=0.01)
                if m["msg_type"] == "input_request":
                    kc.input(stdin_answer)
            except queue.Empty:
                pass
        if reply is None:
            try:
                m = kc.get_shell_msg(timeout=0.01)
                if m["parent_header"].get("msg_id") == msg_id:
                    reply = m["content"]
            except queue.Empty:
                pass
        try:
            m = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status":
            if m["content"]["execution_state"] == "idle":
                idle = True
        elif m["msg_type"] != "execute_input":
            if idle:
                fail(f"{m['msg_type']} after idle for {code!r}")
            outputs.append((m["msg_type"], m["content"]))
    return reply, outputs


def shell_reply(kc, msg_id, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = kc.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") == msg_id:
            return m["content"]
    fail(f"no shell reply to {msg_id}")


def main():
    name = sys.argv[1]
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        info = kc.kernel_info(reply=True, timeout=20)["content"]
        if info.get("implementation") != "Deno kernel":
            fail(f"kernel_info: {info}")
        ok("kernel_info_reply from Deno's kernel")

        reply, outs = run_cell(kc, "const answer = 41 + 1; answer")
        if reply["status"] != "ok" or [t for t, _ in outs] != ["execute_result"] or \
                outs[0][1]["data"].get("text/plain") != "42":
            fail(f"execute_result: {reply} {outs}")
        if reply["execution_count"] != 1 or outs[0][1]["execution_count"] != 1:
            fail(f"execution_count after the first cell: {reply} {outs}")
        ok("execute_result, execution_count 1 (the proxy's drain markers do not count)")

        reply, outs = run_cell(kc, 'console.log("hello"); Deno.jupyter.display('
                                   '{ "text/plain": "shown" }, { raw: true }); undefined')
        types = [t for t, _ in outs]
        if "stream" not in types or "display_data" not in types or reply["execution_count"] != 2:
            fail(f"stream + display_data: {reply} {outs}")
        ok("stream and display_data under their cell")

        reply, outs = run_cell(kc, 'throw new Error("boom")')
        if reply["status"] != "error" or [t for t, _ in outs] != ["error"]:
            fail(f"error: {reply} {outs}")
        ok("error output and error reply")

        reply, outs = run_cell(kc, 'prompt("name?")', stdin_answer="ada")
        if [c["data"].get("text/plain") for t, c in outs if t == "execute_result"] != ['"ada"']:
            fail(f"stdin: {reply} {outs}")
        ok("prompt() answered over stdin")

        m = kc.complete("answ", 4, reply=True, timeout=20)["content"]
        if "answer" not in m.get("matches", []):
            fail(f"complete_reply: {m}")
        ok("complete_reply")
        m = shell_reply(kc, kc.is_complete("f("))
        if m.get("status") != "incomplete":
            fail(f"is_complete_reply: {m}")
        ok("is_complete_reply")

        # Interrupt a running cell (interrupt_request on control), then run on.
        # (A synchronous loop: Deno 2.9.6 cannot interrupt a cell awaiting a
        # timer, with or without the proxy.)
        msg_id = kc.execute("while (true) {}")
        time.sleep(1.0)
        t0 = time.monotonic()
        km.interrupt_kernel()
        while True:
            if time.monotonic() - t0 > 15:
                fail("interrupt: the cell did not stop")
            try:
                m = kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if m["parent_header"].get("msg_id") == msg_id:
                break
        reply, outs = run_cell(kc, "answer + 1")
        if [c["data"].get("text/plain") for t, c in outs if t == "execute_result"] != ["43"]:
            fail(f"after interrupt: {reply} {outs}")
        ok(f"interrupt stopped a running cell in {time.monotonic() - t0:.1f}s; the kernel runs on")

        # A second client on the same kernel gets its own replies.
        kc2 = km.client()
        kc2.start_channels()
        kc2.wait_for_ready(timeout=30)
        r2 = kc2.kernel_info(reply=True, timeout=20)
        if r2["content"].get("implementation") != "Deno kernel":
            fail("second client: no kernel_info_reply")
        reply2, outs2 = run_cell(kc2, "answer * 2")
        if [c["data"].get("text/plain") for t, c in outs2 if t == "execute_result"] != ["84"]:
            fail(f"second client: {reply2} {outs2}")
        kc2.stop_channels()
        ok("a second client gets its own replies")

        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        reply, outs = run_cell(kc, "typeof answer")
        if [c["data"].get("text/plain") for t, c in outs if t == "execute_result"] != ['"undefined"']:
            fail(f"after restart: {reply} {outs}")
        ok("restart gives a fresh kernel")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    if km.has_kernel:
        fail("the kernel process is still alive after shutdown")
    ok("shutdown")


if __name__ == "__main__":
    main()
