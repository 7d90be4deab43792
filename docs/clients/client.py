#!/usr/bin/env python3
"""Send a scenario script to a running `vapic serve` and check its answers.

usage: client.py [HOST:PORT] < script.vapic
Exit status as `vapic run`: 0 every expectation held, 1 one failed, 2 a script or connection error.
Standard library only.
"""
import socket
import sys


def strip_comment(line):
    """The line without its comment: '#' begins one, except the word #GP right after '->'."""
    start = 0
    while (i := line.find("#", start)) >= 0:
        if line[:i].rstrip().endswith("->") and line[i:i + 3].upper() == "#GP" and line[i + 3:i + 4] in ("", " ", "\t", "#"):
            start = i + 3
            continue
        return line[:i]
    return line


def main():
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7411").rpartition(":")
    try:
        conn = socket.create_connection((host.strip("[]"), int(port)), timeout=60)
    except OSError as e:
        print(f"cannot connect to {host}:{port}: {e}", file=sys.stderr)
        return 2
    stream = conn.makefile("rw", encoding="utf-8", newline="\n")
    passed = failed = 0
    error = None
    for number, line in enumerate(sys.stdin, 1):
        request = line.rstrip("\r\n")
        command = strip_comment(request)
        if not command.strip():
            continue                      # blank or comment: nothing to send
        try:
            stream.write(request + "\n")
            stream.flush()
            answer = stream.readline().rstrip("\n")
            while answer.startswith(("IRQ ", "LOST ")):  # asynchronous: an interrupt, or a cluster VM lost work
                print(answer)
                answer = stream.readline().rstrip("\n")
        except OSError as e:              # no answer in time, or the connection broke
            error = f"stdin:{number}: error: the connection failed: {e}"
            break
        if answer:
            print(answer)
        checked = "->" in command
        if not answer or answer.startswith("BYE"):
            if command.strip().lower() != "quit":
                error = f"stdin:{number}: error: the service ended the session"
            break
        if checked and answer.startswith("ERR expected "):
            failed += 1
            print(f"stdin:{number}: {answer[4:]}", file=sys.stderr)
        elif answer.startswith("ERR "):
            error = f"stdin:{number}: error: {answer[4:]}"
            break
        elif checked:
            passed += 1
    if error:
        print(error, file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    return 2 if error else 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
