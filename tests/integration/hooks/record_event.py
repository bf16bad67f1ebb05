#!/usr/bin/python3
# Integration-test hook: appends one JSON record per invocation to the file
# named by its first argument, so tests can assert exactly what a hook saw:
# its remaining argv (as text and as raw bytes in hex, for byte-exact checks)
# and every VNC_* environment variable. An optional leading --sleep=SECONDS
# delays the hook first (to test that the proxy waits for running hooks).
# Standard library only.
import fcntl
import json
import os
import sys
import time


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0].startswith("--sleep="):
        time.sleep(float(argv.pop(0).split("=", 1)[1]))
    if not argv:
        print("usage: record_event.py [--sleep=SECONDS] OUTPUT_FILE [ARG...]", file=sys.stderr)
        return 2
    output, args = argv[0], argv[1:]
    env = {k: v for k, v in os.environ.items() if k.startswith("VNC_")}
    record = {
        "argv": args,
        "argv_hex": [os.fsencode(a).hex() for a in args],
        "env": env,
        "env_hex": {k: os.fsencode(v).hex() for k, v in env.items()},
        "pid": os.getpid(),
        "time": time.time(),
    }
    line = json.dumps(record) + "\n"
    with open(output, "a", encoding="ascii") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.write(line)
        out.flush()
        fcntl.flock(out, fcntl.LOCK_UN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
