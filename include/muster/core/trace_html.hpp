/// @file
/// `trace::write_html`: a recorder as a self-contained HTML timeline.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <muster/core/detail/trace_text.hpp>
#include <muster/core/status.hpp>
#include <muster/core/trace.hpp>

namespace muster {

namespace detail {

/// The page's style. Status colours are distinct from each other, from the
/// greys of anti-aliased text and from the queued tint, so a screenshot can
/// tell the rows apart; legend swatches are narrower than any bar the tests
/// look for.
inline constexpr std::string_view trace_html_style = R"css(
:root{--label:340px;--pad:16px}
*{box-sizing:border-box}
body{margin:0;font:12px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#202124;background:#fff}
header{position:sticky;top:0;z-index:3;background:#fff;border-bottom:1px solid #dadce0;padding:10px var(--pad) 0}
h1{margin:0 0 6px;font-size:15px;font-weight:600;overflow-wrap:anywhere}
.facts,.legend{display:flex;flex-wrap:wrap;gap:3px 18px;margin-bottom:6px}
.facts span{color:#5f6368}.facts b{color:#202124;font-weight:600}
.legend input{position:absolute;opacity:0;pointer-events:none}
.legend label{cursor:pointer;user-select:none}
.legend input:not(:checked)+label{opacity:.45;text-decoration:line-through}
.sw{display:inline-block;width:10px;height:10px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.axis{position:relative;height:18px;margin:0 var(--pad) 0 var(--label)}
.axis span{position:absolute;bottom:3px;transform:translateX(-50%);color:#5f6368;font-size:11px;white-space:nowrap}
.axis span:first-child{transform:none}
main{position:relative;padding:4px 0 28px}
.grid,.marks{position:absolute;top:0;bottom:0;left:var(--label);right:var(--pad);pointer-events:none}
.grid{z-index:0}.marks{z-index:2}
.grid i{position:absolute;top:0;bottom:0;border-left:1px solid #f1f3f4}
.marks i{position:absolute;top:0;bottom:0;border-left:1px dashed #1a73e8}
.row{display:flex;align-items:center;height:18px;white-space:nowrap}
.row:hover{background:#f8f9fa}
.name{flex:none;width:var(--label);padding:0 8px 0 calc(var(--pad) + var(--d,0) * 14px);overflow:hidden;text-overflow:ellipsis}
.track{position:relative;flex:1;height:12px;margin-right:var(--pad)}
.track i{position:absolute;top:0;height:12px}
.track i.b{min-width:3px}
summary.row{cursor:pointer;list-style:none;font-weight:600;color:#3c4043}
summary.row::-webkit-details-marker{display:none}
summary .name::before{content:"\25BE\00a0";color:#5f6368}
details:not([open])>summary .name::before{content:"\25B8\00a0"}
.track i.band{top:4px;height:4px;background:#d2e3fc;border-radius:2px}
.q{opacity:.3}
.s-ok .b,.s-ok .q,.sw.s-ok{background:#1e8e3e}
.s-failed .b,.s-failed .q,.sw.s-failed{background:#d93025}
.s-timed_out .b,.s-timed_out .q,.sw.s-timed_out{background:#e8710a}
.s-cancelled .b,.s-cancelled .q,.sw.s-cancelled{background:#80868b}
.s-running .b,.s-running .q,.sw.s-running{background:#1a73e8}
.s-not_started .b,.sw.s-not_started{background:repeating-linear-gradient(135deg,#c4c9d0 0 12px,#eef0f3 12px 16px)}
.sw.q{background:#1e8e3e}
.sw.band{background:#d2e3fc}
footer{color:#5f6368;padding:0 var(--pad) 16px}
body:has(#f-ok:not(:checked)) .row.s-ok,
body:has(#f-failed:not(:checked)) .row.s-failed,
body:has(#f-timed_out:not(:checked)) .row.s-timed_out,
body:has(#f-cancelled:not(:checked)) .row.s-cancelled,
body:has(#f-not_started:not(:checked)) .row.s-not_started,
body:has(#f-running:not(:checked)) .row.s-running{display:none}
)css";

/// A tick step of 1, 2 or 5 times a power of ten (in nanoseconds) giving
/// at most ten ticks over `span_ns`.
inline std::int64_t tick_step(std::int64_t span_ns) {
    std::int64_t step = 1;
    for (;;) {
        for (std::int64_t m : {1, 2, 5}) {
            if (span_ns / (step * m) <= 10) return step * m;
        }
        step *= 10;
    }
}

}  // namespace detail

namespace trace {

/// Writes the spans of `r` as one self-contained HTML page (inline CSS, no
/// script, no external asset, nothing fetched): a timeline with one row per
/// task, indented under the collection that ran it.
///
/// - Each task's row shows its label (or its collection's name and index)
///   and a bar from start to finish coloured by status: `ok` green, `failed`
///   red, `timed_out` orange, `cancelled` grey, `not_started` light grey
///   hatched (spanning the time it waited before being given up), a task
///   still `running` blue; the time it waited for a slot is a lighter
///   segment before the bar. Hovering a row shows its status, attempts,
///   error and durations.
/// - Each collection is a collapsible header row with its task count and a
///   band over the time its tasks took.
/// - The header gives the title, the attributes, the total wall time (from
///   `r.origin()` to `r.end()`), the sum of task run times, the peak number
///   of tasks in flight, counts by status (each a toggle hiding those rows),
///   the markers (also drawn as dashed lines) and a legend.
///
/// Stays readable with thousands of rows: the header and time axis stay in
/// view while scrolling, and collections fold.
///
/// Errors, thread-safety: as `write_chrome_json`.
inline void write_html(const recorder& r, std::ostream& os) {
    using detail::append_html_text;
    using detail::append_percent;
    using detail::human_duration;
    const auto& spans = r.spans();
    const auto& collections = r.collections();
    const auto origin = r.origin();

    clock::time_point t0 = origin;
    for (const span& s : spans) {
        if (s.times.queued != clock::time_point{}) t0 = std::min(t0, s.times.queued);
    }
    const clock::time_point t1 = std::max(r.end(), t0 + std::chrono::microseconds(1));
    const double total = static_cast<double>((t1 - t0).count());
    auto at = [&](clock::time_point t) { return static_cast<double>((t - t0).count()) / total; };
    auto bar = [&](std::string& out, const char* cls, clock::time_point from,
                   clock::time_point to) {
        out += "<i class=\"";
        out += cls;
        out += "\" style=\"left:";
        append_percent(out, at(from));
        out += "%;width:";
        append_percent(out, at(to) - at(from));
        out += "%\"></i>";
    };

    // Per collection: its tasks by status and the time they covered.
    struct extent {
        std::array<std::size_t, status_count> counts{};
        std::size_t tasks = 0;
        clock::time_point from, to;
    };
    std::vector<extent> extents(collections.size());
    for (std::size_t c = 0; c < collections.size(); ++c)
        extents[c].from = extents[c].to = collections[c].opened;
    for (const span& s : spans) {
        extent& e = extents[s.collection];
        ++e.tasks;
        if (s.done) ++e.counts[static_cast<std::size_t>(s.status)];
        e.from = std::min(e.from, s.times.queued);
        e.to = std::max(e.to, s.done ? s.times.finished : t1);
    }

    // Totals for the header.
    std::array<std::size_t, status_count> by_status{};
    std::size_t running = 0;
    clock::duration busy{};
    std::vector<std::pair<clock::time_point, int>> edges;
    for (const span& s : spans) {
        const bool started = s.times.started != clock::time_point{};
        const auto end = s.done ? s.times.finished : t1;
        if (s.done)
            ++by_status[static_cast<std::size_t>(s.status)];
        else
            ++running;
        if (started) {
            busy += end - s.times.started;
            edges.emplace_back(s.times.started, 1);
            edges.emplace_back(end, -1);
        }
    }
    std::sort(edges.begin(), edges.end());  // an end sorts before a start at the same instant
    std::size_t peak = 0;
    std::ptrdiff_t in_flight = 0;
    for (const auto& e : edges) {
        in_flight += e.second;
        peak = std::max(peak, static_cast<std::size_t>(std::max<std::ptrdiff_t>(in_flight, 0)));
    }

    std::string out;
    out.reserve(4096 + spans.size() * 700);
    const std::string title = r.title().empty() ? std::string("muster trace") : r.title();
    out +=
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>";
    append_html_text(out, title);
    out += " \xE2\x80\x94 muster trace</title>\n<style>";
    out += detail::trace_html_style;
    out += "</style></head>\n<body>\n<header>\n<h1>";
    append_html_text(out, title);
    out += "</h1>\n<div class=\"facts\">";
    auto fact = [&out](std::string_view key, std::string_view value) {
        out += "<span>";
        append_html_text(out, key);
        out += " <b>";
        append_html_text(out, value);
        out += "</b></span>";
    };
    for (const auto& [key, value] : r.attributes()) fact(key, value);
    fact("wall time", human_duration(r.end() - origin));
    fact("sum of task times", human_duration(busy));
    fact("tasks", std::to_string(spans.size()));
    fact("peak in flight", std::to_string(peak));
    for (const marker& m : r.markers()) fact(m.name + " at", human_duration(m.at - origin));
    if (r.dropped() > 0) fact("not recorded (over the limit)", std::to_string(r.dropped()));
    out += "</div>\n<div class=\"legend\">";
    auto toggle = [&out](std::string_view name, std::size_t count) {
        const std::string id = "f-" + std::string(name);
        out += "<input type=\"checkbox\" id=\"" + id + "\" checked><label for=\"" + id +
               "\" title=\"show or hide these rows\"><i class=\"sw s-";
        out += name;
        out += "\"></i>";
        out += name;
        out += " <b>" + std::to_string(count) + "</b></label>";
    };
    for (std::size_t i = 0; i < status_count; ++i)
        toggle(to_string(static_cast<status>(i)), by_status[i]);
    if (running > 0) toggle("running", running);
    out +=
        "<span><i class=\"sw q\" style=\"opacity:.3\"></i>queued (waiting for a slot)</span>"
        "<span><i class=\"sw band\"></i>collection</span>";
    out += "</div>\n<div class=\"axis\">";

    const std::int64_t span_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    const std::int64_t step = detail::tick_step(span_ns);
    const std::int64_t first_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t0 - origin).count();
    std::vector<std::pair<double, std::string>> ticks;
    // The first multiple of `step` at or after t0 (t0 is before the origin
    // only when a task was queued before the recorder was made).
    std::int64_t ns =
        first_ns >= 0 ? (first_ns + step - 1) / step * step : -(-first_ns / step * step);
    for (; origin + std::chrono::nanoseconds(ns) <= t1; ns += step) {
        ticks.emplace_back(
            at(origin + std::chrono::nanoseconds(ns)),
            ns == 0 ? std::string("0") : human_duration(std::chrono::nanoseconds(ns)));
    }
    for (const auto& [x, label] : ticks) {
        out += "<span style=\"left:";
        append_percent(out, x);
        out += "%\">";
        append_html_text(out, label);
        out += "</span>";
    }
    out += "</div>\n</header>\n<main>\n<div class=\"grid\">";
    for (const auto& tick : ticks) {
        out += "<i style=\"left:";
        append_percent(out, tick.first);
        out += "%\"></i>";
    }
    out += "</div><div class=\"marks\">";
    for (const marker& m : r.markers()) {
        out += "<i style=\"left:";
        append_percent(out, at(m.at));
        out += "%\"></i>";
    }
    out += "</div>\n";

    // Rows. A collection at depth d opens a <details> holding its tasks (at
    // d + 1) and the collections they ran; any row at depth d or shallower
    // closes it.
    std::vector<std::size_t> open_depths;
    auto close_to = [&](std::size_t depth) {
        while (!open_depths.empty() && open_depths.back() >= depth) {
            out += "</details>\n";
            open_depths.pop_back();
        }
    };
    for (const detail::trace_row& row : detail::trace_rows(r)) {
        const std::string depth = std::to_string(row.depth);
        close_to(row.depth);
        if (row.what == detail::trace_row::kind::collection) {
            const collection& c = collections[row.item];
            const auto& [counts, n, from, to] = extents[row.item];
            std::string summary = c.name.empty() ? std::string("tasks") : c.name;
            summary += " \xC2\xB7 " + std::to_string(n) + (n == 1 ? " task" : " tasks");
            for (std::size_t i = 0; i < status_count; ++i) {
                if (counts[i] > 0 && counts[i] != n)
                    summary += ", " + std::to_string(counts[i]) + " " +
                               std::string(to_string(static_cast<status>(i)));
            }
            std::string tip = summary + "\nfrom " + human_duration(from - origin) + " to " +
                              human_duration(to - origin) + " (" + human_duration(to - from) + ")";
            out += "<details open><summary class=\"row\" style=\"--d:" + depth + "\" title=\"";
            append_html_text(out, tip);
            out += "\"><span class=\"name\">";
            append_html_text(out, summary);
            out += "</span><span class=\"track\">";
            bar(out, "band", from, to);
            out += "</span></summary>\n";
            open_depths.push_back(row.depth);
            continue;
        }
        const span& s = spans[row.item];
        const bool started = s.times.started != clock::time_point{};
        const auto end = s.done ? s.times.finished : t1;
        const std::string_view state = s.done ? to_string(s.status) : std::string_view("running");
        const std::string name = r.display_name(s);
        std::string tip = name + "\n" + std::string(state) + " \xC2\xB7 " +
                          std::to_string(s.attempts) +
                          (s.attempts == 1 ? " attempt" : " attempts") + "\n";
        if (started) {
            tip += "queued " + human_duration(s.times.started - s.times.queued) + " \xC2\xB7 ran " +
                   human_duration(end - s.times.started) + " (" +
                   human_duration(s.times.started - origin) + " \xE2\x86\x92 " +
                   human_duration(end - origin) + ")";
        } else {
            tip += "waited " + human_duration(end - s.times.queued) + " and never started";
        }
        const std::string& cname = collections[s.collection].name;
        tip +=
            "\n" + (cname.empty() ? std::string("task") : cname) + " #" + std::to_string(s.index);
        if (!s.error.empty()) tip += "\nerror: " + s.error;
        out += "<div class=\"row s-";
        out += state;
        out += "\" style=\"--d:" + depth + "\" title=\"";
        append_html_text(out, tip);
        out += "\"><span class=\"name\">";
        append_html_text(out, name);
        out += "</span><span class=\"track\">";
        if (started) {
            if (s.times.started > s.times.queued) bar(out, "q", s.times.queued, s.times.started);
            bar(out, "b", s.times.started, end);
        } else {
            bar(out, "b", s.times.queued, end);
        }
        out += "</span></div>\n";
    }
    close_to(0);
    out += "</main>\n<footer>";
    append_html_text(out, std::to_string(spans.size()) + " tasks in " +
                              std::to_string(collections.size()) +
                              " collections. Hover a row for its details; click a status above "
                              "to hide its rows; click a collection to fold it.");
    out += "</footer>\n</body></html>\n";
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
}

}  // namespace trace
}  // namespace muster
