#!/usr/bin/python3
# Integration-test hook that floods stdout and stderr with numbered lines, then
# writes a marker file (first argument) once everything was written. The marker
# proves the proxy kept draining the hook's output instead of blocking it.
import sys

LINES = 100_000


def main() -> int:
    marker = sys.argv[1]
    out = sys.stdout
    for i in range(LINES):
        out.write(f"FLOODLINE {i} {'x' * 60}\n")
        if i % 10 == 0:
            sys.stderr.write(f"FLOODERR {i}\n")
    out.flush()
    sys.stderr.flush()
    with open(marker, "w", encoding="ascii") as done:
        done.write(f"{LINES}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
