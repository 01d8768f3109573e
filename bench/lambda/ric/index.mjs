// The no-op function the runtime benchmark starts under AWS's Node client
// (aws-lambda-ric, built on AWS's C++ runtime).
export const handler = async () => ({});

// The streaming benchmark's function (stream_bench.cpp) in Node: the tasks of
// {"ms": [...]} on timers, one NDJSON line per task as it completes, then a
// summary line; streamed (awslambda.streamifyResponse) or returned whole.
const lines = async (event, write) => {
  const begin = process.hrtime.bigint();
  let ok = 0;
  await Promise.all(event.ms.map((ms, index) => new Promise((resolve) => {
    const done = () => {
      ok += 1;
      write(JSON.stringify({ index, status: "ok", value: ms, attempts: 1 }) + "\n");
      resolve();
    };
    if (ms > 0) setTimeout(done, ms); else queueMicrotask(done);
  })));
  const elapsed_us = Number((process.hrtime.bigint() - begin) / 1000n);
  write(JSON.stringify({ summary: { total: event.ms.length, ok, failed: 0, timed_out: 0,
    cancelled: 0, not_started: 0, elapsed_us } }) + "\n");
};

export const streamed = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("application/x-ndjson");
  await lines(event, (text) => responseStream.write(text));
  responseStream.end();
});

export const buffered = async (event) => {
  let text = "";
  await lines(event, (line) => { text += line; });
  return text;
};
