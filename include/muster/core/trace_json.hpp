/// @file
/// `trace::write_chrome_json`: a recorder as a Chrome trace-event file, which
/// Perfetto (ui.perfetto.dev) and chrome://tracing open.
#pragma once

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <string>

#include <muster/core/detail/trace_text.hpp>
#include <muster/core/trace.hpp>

namespace muster::trace {

/// Writes the spans of `r` as a Chrome trace-event JSON document
/// (`{"traceEvents":[...],"displayTimeUnit":"ms","otherData":{...}}`).
///
/// Each task is one complete event (`"ph":"X"`) on a thread of its own (one
/// `tid` per row, in the order of the HTML timeline, named after the task),
/// with `ts` and `dur` in microseconds relative to `r.origin()`: from its
/// start to its end, or from its queueing to being given up for a task that
/// never started. `name` is the task's display name, `cat` its collection's
/// name ("task" when unnamed), and `args` holds `status` (`ok`, `failed`,
/// `timed_out`, `cancelled`, `not_started`; `running` for a task that had
/// not finished when the trace was written), `attempts`, `queued_us` (time
/// waiting for a slot), `error`, `collection`, `index`, `span` and `parent`
/// (span ids; 0 for none). Markers are instant events (`"ph":"i"`).
/// `otherData` carries the title, the attributes, the wall time and the
/// number of spans and of dropped tasks.
///
/// Strings are escaped as JSON requires; bytes that are not UTF-8 become
/// U+FFFD. Numbers never depend on the C locale.
///
/// Errors: whatever `os` reports through its state; nothing is thrown here
/// beyond `std::bad_alloc`.
///
/// Thread-safety: read `r` on the thread its tasks ran on, once they are done.
inline void write_chrome_json(const recorder& r, std::ostream& os) {
    using detail::append_json_string;
    using detail::append_micros;
    const auto origin = r.origin();
    std::string out;
    out.reserve(256 + r.spans().size() * 400);
    out += "{\"traceEvents\":[\n";
    out += R"({"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":)";
    append_json_string(out, r.title().empty() ? std::string("muster") : r.title());
    out += "}}";

    std::size_t tid = 0;
    for (const detail::trace_row& row : detail::trace_rows(r)) {
        if (row.what != detail::trace_row::kind::span) continue;
        const span& s = r.spans()[row.item];
        const std::string name = r.display_name(s);
        const std::string& collection = r.collections()[s.collection].name;
        const bool started = s.times.started != clock::time_point{};
        const auto begin = started ? s.times.started : s.times.queued;
        const auto end = s.done ? s.times.finished : std::max(begin, r.end());
        const auto queued = (started ? s.times.started : end) - s.times.queued;
        ++tid;
        const std::string tid_text = std::to_string(tid);

        out += ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" + tid_text +
               ",\"args\":{\"name\":";
        append_json_string(out, name);
        out += "}}";
        out += ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":" + tid_text +
               ",\"args\":{\"sort_index\":" + tid_text + "}}";

        out += ",\n{\"name\":";
        append_json_string(out, name);
        out += ",\"cat\":";
        append_json_string(out, collection.empty() ? std::string("task") : collection);
        out += ",\"ph\":\"X\",\"ts\":";
        append_micros(out, begin - origin);
        out += ",\"dur\":";
        append_micros(out, end - begin);
        out += ",\"pid\":1,\"tid\":" + tid_text + ",\"args\":{\"status\":";
        append_json_string(out, s.done ? to_string(s.status) : std::string_view("running"));
        out += ",\"attempts\":" + std::to_string(s.attempts) + ",\"queued_us\":";
        append_micros(out, queued);
        out += ",\"error\":";
        append_json_string(out, s.error);
        out += ",\"collection\":";
        append_json_string(out, collection);
        out += ",\"index\":" + std::to_string(s.index) + ",\"span\":" + std::to_string(s.id) +
               ",\"parent\":" + std::to_string(s.parent) + "}}";
    }
    for (const marker& m : r.markers()) {
        out += ",\n{\"name\":";
        append_json_string(out, m.name);
        out += ",\"ph\":\"i\",\"s\":\"g\",\"ts\":";
        append_micros(out, m.at - origin);
        out += ",\"pid\":1,\"tid\":0}";
    }
    out += "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"title\":";
    append_json_string(out, r.title());
    for (const auto& [key, value] : r.attributes()) {
        if (key == "title" || key == "wall_us" || key == "spans" || key == "dropped") continue;
        out += ',';
        append_json_string(out, key);
        out += ':';
        append_json_string(out, value);
    }
    out += ",\"wall_us\":";
    append_micros(out, r.end() - origin);
    out += ",\"spans\":" + std::to_string(r.spans().size()) +
           ",\"dropped\":" + std::to_string(r.dropped()) + "}}\n";
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
}

}  // namespace muster::trace
