#!/bin/sh
# Example hook: prints its arguments; the proxy logs each output line tagged
# with the hook name and session id. Every field is also in VNC_* variables.
event=$1
shift
echo "$event: $*  (from $VNC_CLIENT_IP:$VNC_CLIENT_PORT to $VNC_TARGET_HOST:$VNC_TARGET_PORT)"
