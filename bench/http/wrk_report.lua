-- Makes wrk print one JSON line after its usual report, for bench/http/run.sh.
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,' ..
        '"latency_mean_us":%.1f,"latency_p50_us":%d,"latency_p99_us":%d}\n',
        summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
        e.status, latency.mean, latency:percentile(50), latency:percentile(99)))
end
