#!/usr/bin/env python3
"""The cost of moving a VM of 64 vCPUs between two cluster nodes.

Start two nodes first (from one directory, so that they share the SQLite snapshot store):
    vapic serve --cluster --listen 127.0.0.1:7411
    vapic serve --cluster --cluster-port 4054 --listen 127.0.0.1:7412 --verbose > node2.log
then run:  python3 move_vm.py PID_OF_NODE_2 NAME_PREFIX
It creates VMs from a session on node 1 until one lands on node 2, gives every vCPU state (software
enabled, its own TPR, a fixed IPI pending at 63 of them), then sends `clock` requests back to back
while node 2 is stopped with SIGTERM (a graceful leave: the VM hands off its state and restarts on
node 1). It prints the longest answer seen after the signal, which is the pause a session sees.
The bytes moved are in node 2's log: "VM NAME handed off ... (N bytes)".
"""
import re
import socket
import subprocess
import sys
import time


def connect(port):
    return socket.create_connection(("127.0.0.1", port)).makefile("rw", newline="\n")


def request(stream, line):
    stream.write(line + "\n")
    stream.flush()
    while True:
        answer = stream.readline().rstrip("\n")
        if not answer.startswith(("IRQ ", "LOST ")):
            return answer


def vms_on(stream, node):
    match = re.search(r"vms=(\S+)", request(stream, "cluster"))
    if not match or match.group(1) == "none":
        return 0
    counts = dict((item.rsplit(":", 1)[0], int(item.rsplit(":", 1)[1])) for item in match.group(1).split(","))
    return counts.get(node, 0)


def main():
    pid, prefix = int(sys.argv[1]), sys.argv[2]
    session = connect(7411)
    name = None
    for i in range(40):
        before = vms_on(session, "127.0.0.1:4054")
        candidate = f"{prefix}{i}"
        assert request(session, f"vm name={candidate} vcpus=64 mode=x2apic keep=yes") == "OK"
        if vms_on(session, "127.0.0.1:4054") > before:
            name = candidate
            break
    assert name, "no VM landed on node 2"
    assert request(session, "attach " + name) == "OK"
    for cpu in range(64):
        request(session, f"cpu {cpu}")
        request(session, "wrmsr 0x80f 0x1ff")
        request(session, f"wrmsr 0x808 {cpu & 0xf0:#x}")
    request(session, "cpu 0")
    request(session, "wrmsr 0x830 0x000000ff000c0041")  # vector 0x41 to all but self, left pending
    request(session, "cpu 1")
    irr_before = request(session, "irr")

    answers = []
    signalled = None
    start = time.time()
    while time.time() - start < 20:
        sent = time.time()
        request(session, "clock")
        answers.append((sent, time.time() - sent))
        if signalled is None and time.time() - start > 3:
            subprocess.run(["kill", "-TERM", str(pid)], check=True)
            signalled = time.time()
    calm = sorted(took for sent, took in answers if sent < signalled)
    pause = max(took for sent, took in answers if sent >= signalled - 0.01)
    request(session, "cpu 1")
    irr_after = request(session, "irr")
    print(f"VM {name}: median answer before {calm[len(calm) // 2] * 1000:.2f} ms, "
          f"longest answer after SIGTERM {pause * 1000:.0f} ms, IRR of vCPU 1 {irr_before} -> {irr_after}")
    print(request(session, "cluster"))
    return 0 if irr_before == irr_after else 1


if __name__ == "__main__":
    sys.exit(main())
