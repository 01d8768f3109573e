#!/usr/bin/env bash
# A Lambda runtime in shell and curl, for the raw Runtime API paths. Each
# event names an action; what the emulator answered is appended to
# $PROBE_FILE as "label status" lines, read by the tests.
#
#   {"action":"echo", ...}   respond with the event itself
#   {"action":"ids"}         post to an unknown id (400), respond (202),
#                            respond again (403), post /error (403)
#   {"action":"big"}         respond with 7 MiB (413), then /error (403)
#   {"action":"size","bytes":N} respond with N bytes, without Expect: 100-continue
#   {"action":"error"}       post /error with an error document
#   {"action":"crash"}       exit 3 mid-invocation
#   {"action":"garbage"}     send garbage HTTP on a new connection, then respond
#   {"action":"sleep","seconds":N} sleep, then respond; records
#                            sleep_start_<id> and sleep_end_<id> (epoch ns)
#   {"action":"spawn"}       start a background `sleep 300`, record its pid, sleep 30
#   {"action":"headers"}     respond with the /next headers and environment as JSON
# With INIT_FAIL=1 it posts /init/error and then sleeps instead of polling.
set -u
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
probe=${PROBE_FILE:-/dev/null}
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
work=$top

record() { echo "$1 $2" >>"$probe"; }

post() { # post LABEL URL DATAFILE [headers...] -> records the status
    local label=$1 url=$2 data=$3
    shift 3
    local code
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$@" --data-binary "@$data" "$url")
    record "$label" "$code"
}

if [[ ${INIT_FAIL:-0} == 1 ]]; then
    echo '{"errorMessage":"init went wrong","errorType":"Custom.InitFailure"}' >"$work/init"
    post init_error "$api/init/error" "$work/init" -H 'Lambda-Runtime-Function-Error-Type: Custom.InitFailure'
    sleep 30
    exit 0
fi

serve_loop() {
local work
work=$(mktemp -d -p "$top")
while true; do
    curl -sS -D "$work/headers" -o "$work/event" "$api/invocation/next" || exit 1
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$work/headers" | cut -d' ' -f2 | tr -d '\r')
    action=$(grep -o '"action" *: *"[a-z]*"' "$work/event" | sed 's/.*"\([a-z]*\)"$/\1/')
    case "$action" in
    ids)
        echo '"first"' >"$work/first"
        echo '"second"' >"$work/second"
        echo '{"errorMessage":"late","errorType":"Late"}' >"$work/err"
        post unknown_id "$api/invocation/not-a-real-id/response" "$work/first"
        post first "$api/invocation/$id/response" "$work/first"
        post second "$api/invocation/$id/response" "$work/second"
        post error_after "$api/invocation/$id/error" "$work/err"
        ;;
    big)
        head -c $((7 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$work/big"
        post big "$api/invocation/$id/response" "$work/big"
        echo '{"errorMessage":"after 413","errorType":"Late"}' >"$work/err"
        post error_after_big "$api/invocation/$id/error" "$work/err"
        ;;
    size)
        bytes=$(grep -o '"bytes" *: *[0-9]*' "$work/event" | sed 's/.*: *//')
        head -c "$bytes" /dev/zero | tr '\0' 'a' >"$work/sized"
        post size "$api/invocation/$id/response" "$work/sized" -H 'Expect:'
        ;;
    error)
        echo '{"errorMessage":"it broke","errorType":"Custom.Broken","stackTrace":[]}' >"$work/err"
        post error "$api/invocation/$id/error" "$work/err" -H 'Lambda-Runtime-Function-Error-Type: Custom.Broken'
        ;;
    crash)
        exit 3
        ;;
    garbage)
        exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
        printf 'THIS IS NOT HTTP\r\n\r\n' >&3
        reply=$(head -c 12 <&3)
        exec 3>&-
        record garbage "${reply#HTTP/1.1 }"
        echo '"after garbage"' >"$work/out"
        post response "$api/invocation/$id/response" "$work/out"
        ;;
    sleep)
        seconds=$(grep -o '"seconds" *: *[0-9.]*' "$work/event" | sed 's/.*: *//')
        record "sleep_start_$id" "$(date +%s%N)"
        sleep "$seconds"
        record "sleep_end_$id" "$(date +%s%N)"
        post response "$api/invocation/$id/response" "$work/event"
        ;;
    spawn)
        sleep 300 &
        record child_pid $!
        sleep 30
        ;;
    headers)
        {
            printf '{"content_type":"%s",' "$(grep -i '^content-type:' "$work/headers" | cut -d' ' -f2- | tr -d '\r')"
            printf '"deadline_ms":"%s",' "$(grep -i '^lambda-runtime-deadline-ms:' "$work/headers" | cut -d' ' -f2 | tr -d '\r')"
            printf '"trace_id":"%s",' "$(grep -i '^lambda-runtime-trace-id:' "$work/headers" | cut -d' ' -f2 | tr -d '\r')"
            printf '"arn":"%s",' "$(grep -i '^lambda-runtime-invoked-function-arn:' "$work/headers" | cut -d' ' -f2 | tr -d '\r')"
            printf '"handler":"%s","task_root":"%s","function_name":"%s","memory":"%s",' \
                "${_HANDLER:-}" "${LAMBDA_TASK_ROOT:-}" "${AWS_LAMBDA_FUNCTION_NAME:-}" "${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-}"
            printf '"version":"%s","region":"%s","log_group":"%s","log_stream":"%s","tz":"%s",' \
                "${AWS_LAMBDA_FUNCTION_VERSION:-}" "${AWS_REGION:-}" "${AWS_LAMBDA_LOG_GROUP_NAME:-}" \
                "${AWS_LAMBDA_LOG_STREAM_NAME:-}" "${TZ:-}"
            printf '"max_concurrency":"%s","custom":"%s","trace":"%s","pwd":"%s",' \
                "${AWS_LAMBDA_MAX_CONCURRENCY:-}" "${CUSTOM:-}" "${MUSTER_TRACE:-}" "$PWD"
            printf '"ld_library_path":"%s"}' "${LD_LIBRARY_PATH:-}"
        } >"$work/out"
        post response "$api/invocation/$id/response" "$work/out"
        ;;
    *)
        post response "$api/invocation/$id/response" "$work/event"
        ;;
    esac
done
}

# Lambda Managed Instances: one poll loop per allowed concurrent invocation.
loops=${AWS_LAMBDA_MAX_CONCURRENCY:-1}
for ((i = 1; i < loops; i++)); do
    serve_loop &
done
serve_loop
