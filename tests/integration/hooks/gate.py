#!/usr/bin/python3
# Integration-test gate hook: optionally sleeps (to test gate timeouts), prints
# each remaining argument as one stdout line (the first line is the refusal
# text the proxy shows the viewer) and exits with the given status (0 lets the
# session go on, anything else refuses it).
# Usage: gate.py [--sleep=SECONDS] EXIT_STATUS [LINE...]
import sys
import time


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0].startswith("--sleep="):
        time.sleep(float(argv.pop(0).split("=", 1)[1]))
    if not argv:
        print("usage: gate.py [--sleep=SECONDS] EXIT_STATUS [LINE...]", file=sys.stderr)
        return 2
    for line in argv[1:]:
        print(line, flush=True)
    return int(argv[0])


if __name__ == "__main__":
    sys.exit(main())
