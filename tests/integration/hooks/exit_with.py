#!/usr/bin/python3
# Integration-test hook: prints a recognisable line and exits with the status
# given as its first argument, so tests can check the exit code is logged.
import sys

print(f"exit_with hook says goodbye with {sys.argv[1]}", flush=True)
sys.exit(int(sys.argv[1]))
