#!/usr/bin/python3
# Integration-test hook that never finishes on its own: it ignores SIGTERM,
# starts a grandchild that also sleeps, writes both pids to the file named by
# its first argument, then sleeps. Tests use it to check that a timed-out hook
# is killed (with its process group) and that the relay never waits for it.
import json
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(["/bin/sleep", "120"], stdin=subprocess.DEVNULL)
    info = {"pid": os.getpid(), "child_pid": child.pid, "started": time.time()}
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w", encoding="ascii") as out:
        json.dump(info, out)
    os.rename(tmp, sys.argv[1])
    print("hang hook started", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
