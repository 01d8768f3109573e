#!/usr/bin/env bash
# A runtime that leaves background work running: a loop appending a line to
# $TICK_FILE every 10 ms. On Lambda (and in the emulator) it is frozen with
# the process between invocations, so the file does not grow then.
set -u
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
(while true; do echo tick >>"$TICK_FILE"; sleep 0.01; done) &
work=$(mktemp -d)
while true; do
    curl -sS -D "$work/headers" -o "$work/event" "$api/invocation/next" || exit 1
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$work/headers" | cut -d' ' -f2 | tr -d '\r')
    curl -sS -o /dev/null -X POST --data-binary "@$work/event" "$api/invocation/$id/response"
done
