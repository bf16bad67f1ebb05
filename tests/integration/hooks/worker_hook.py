#!/usr/bin/python3
# Integration-test hook for test_worker: appends a "start" record, sleeps,
# then an "end" record to the file named by its first argument. Each record
# has the remaining arguments (key=value placeholders), the hook's pid and its
# parent (the worker) as seen at start; the end record says whether that
# parent was gone by then (a SIGKILLed worker leaves its hook running: such an
# end does not count as the worker having finished the entry).
#   worker_hook.py OUTPUT_FILE SLEEP_SECONDS [ARG...]
# Standard library only.
import fcntl
import json
import os
import sys
import time


def append(output: str, record: dict) -> None:
    with open(output, "a", encoding="ascii") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.write(json.dumps(record) + "\n")
        out.flush()
        fcntl.flock(out, fcntl.LOCK_UN)


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: worker_hook.py OUTPUT_FILE SLEEP_SECONDS [ARG...]", file=sys.stderr)
        return 2
    output, sleep, args = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    fields = dict(arg.split("=", 1) for arg in args if "=" in arg)
    parent = os.getppid()
    base = {"args": fields, "pid": os.getpid(), "worker": parent}
    append(output, dict(base, phase="start", time=time.time()))
    time.sleep(sleep)
    append(output, dict(base, phase="end", time=time.time(), orphaned=os.getppid() != parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
