/// @file
/// Tracing: a `trace::recorder` attached to a root scope keeps one span per
/// collected task (queued, started, finished, status, attempts, error,
/// label), and `muster::name_task` labels the running task's span.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/status.hpp>

namespace muster {

namespace detail {
struct recorder_access;
}

namespace trace {

/// One collected task, as a trace shows it.
struct span {
    /// 1-based, in the order the spans were opened (a task's admission, or
    /// the moment it was given up as `not_started`).
    std::size_t id = 0;
    /// The span of the task whose body ran this task's collection; 0 for a
    /// collection run directly in the root scope.
    std::size_t parent = 0;
    /// Index into `recorder::collections()`.
    std::size_t collection = 0;
    /// The task's position in its collection (input order, or spawn order in
    /// a group), as in its `results`.
    std::size_t index = 0;
    /// What `name_task` said, or empty.
    std::string label;
    /// How the task ended; meaningful once `done`.
    muster::status status = muster::status::not_started;
    /// Attempts made (0 for `not_started`).
    unsigned attempts = 0;
    /// Queued, started (default-constructed when it never started) and
    /// finished, as in the task's outcome.
    muster::timings times;
    /// The error's message for a task that did not end `ok`.
    std::string error;
    /// False while the task runs.
    bool done = false;
};

/// One collection (`gather`, `as_completed`, `with_group`) that ran tasks.
struct collection {
    /// `options::name`, or empty.
    std::string name;
    /// The span of the task that ran the collection; 0 at the top level.
    std::size_t parent = 0;
    /// When the collection was created.
    clock::time_point opened;
};

/// A point in time worth showing beside the spans (e.g. "response posted").
struct marker {
    std::string name;
    clock::time_point at;
};

/// The spans of every task collected in a root scope, for a trace file or a
/// timeline.
///
/// Attach one to a `root_scope`; every `gather`, `as_completed` and
/// `with_group` in the scope, however deeply nested, opens a span for each
/// of its tasks when the task is admitted (or given up as `not_started`)
/// and completes it when the task's outcome is final. A task's span knows
/// its collection, the collection knows the task that ran it, so nesting is
/// kept. CPU work sent to `offload` is part of the task that awaits it, not
/// a span of its own.
///
/// At most `max_spans` spans are kept (100,000 by default); later tasks are
/// only counted (`dropped()`), so a runaway invocation cannot exhaust memory.
///
/// Thread-safety: none of its own. Tasks write to it on the io_context
/// thread they run on (all of muster's coroutines run on one); read it on
/// that thread too, once the work of the scope is done.
///
/// @code
/// auto rec = std::make_shared<muster::trace::recorder>("nightly import");
/// muster::root_scope scope(deadline, {}, rec);
/// co_await co_spawn(scope.executor(io.get_executor()), import_all(), use_awaitable);
/// std::ofstream html("import.html");
/// muster::trace::write_html(*rec, html);
/// @endcode
class recorder {
  public:
    /// `title` heads the timeline (the Lambda runtime uses the request id);
    /// `origin` is time zero of the trace.
    explicit recorder(std::string title = {}, clock::time_point origin = clock::now())
        : title_(std::move(title)), origin_(origin) {}
    recorder(const recorder&) = delete;
    recorder& operator=(const recorder&) = delete;

    const std::string& title() const noexcept { return title_; }
    void set_title(std::string title) { title_ = std::move(title); }
    clock::time_point origin() const noexcept { return origin_; }

    /// Extra facts for the trace's header, in the order added (the Lambda
    /// runtime adds the request id and the function's name).
    void set_attribute(std::string key, std::string value) {
        for (auto& [k, v] : attributes_) {
            if (k == key) {
                v = std::move(value);
                return;
            }
        }
        attributes_.emplace_back(std::move(key), std::move(value));
    }
    const std::vector<std::pair<std::string, std::string>>& attributes() const noexcept {
        return attributes_;
    }

    /// Records an instant (shown as a line across the timeline).
    void mark(std::string name, clock::time_point at = clock::now()) {
        markers_.push_back({std::move(name), at});
    }
    const std::vector<marker>& markers() const noexcept { return markers_; }

    /// Every span, by id (`spans()[id - 1]`).
    const std::vector<span>& spans() const noexcept { return spans_; }
    const std::vector<collection>& collections() const noexcept { return collections_; }
    /// Tasks not recorded because `max_spans` was reached.
    std::size_t dropped() const noexcept { return dropped_; }

    std::size_t max_spans() const noexcept { return max_spans_; }
    void set_max_spans(std::size_t n) noexcept { max_spans_ = n; }

    /// The span's label, or its collection's name and index ("records #3"),
    /// or "task #3" when the collection has no name.
    std::string display_name(const span& s) const {
        if (!s.label.empty()) return s.label;
        const std::string& name = collections_.at(s.collection).name;
        return (name.empty() ? std::string("task") : name) + " #" + std::to_string(s.index);
    }

    /// The latest point the trace knows: a span's end or a marker; `origin()`
    /// when it knows none.
    clock::time_point end() const noexcept {
        clock::time_point e = origin_;
        for (const span& s : spans_) {
            e = std::max(e, s.times.finished);
            e = std::max(e, s.times.started);
        }
        for (const marker& m : markers_) e = std::max(e, m.at);
        return e;
    }

  private:
    friend struct detail::recorder_access;

    std::string title_;
    clock::time_point origin_;
    std::vector<std::pair<std::string, std::string>> attributes_;
    std::vector<marker> markers_;
    std::vector<span> spans_;
    std::vector<collection> collections_;
    std::size_t dropped_ = 0;
    std::size_t max_spans_ = 100'000;
};

}  // namespace trace

namespace detail {

/// How collections write into a recorder. Span ids are 1-based; 0 means
/// "not recorded" and every call accepts it.
struct recorder_access {
    static std::size_t open_collection(trace::recorder& r, std::string name, std::size_t parent,
                                       clock::time_point opened) {
        r.collections_.push_back({std::move(name), parent, opened});
        return r.collections_.size() - 1;
    }

    static std::size_t open_span(trace::recorder& r, std::size_t collection, std::size_t index,
                                 const outcome_base& o) {
        if (r.spans_.size() >= r.max_spans_) {
            ++r.dropped_;
            return 0;
        }
        trace::span& s = r.spans_.emplace_back();
        s.id = r.spans_.size();
        s.collection = collection;
        s.parent = r.collections_[collection].parent;
        s.index = index;
        s.times = o.timings();
        return s.id;
    }

    static void close_span(trace::recorder& r, std::size_t id, const outcome_base& o) {
        if (id == 0) return;
        trace::span& s = r.spans_[id - 1];
        s.status = o.status();
        s.attempts = o.attempts();
        s.times = o.timings();
        if (!o.ok()) s.error = o.message();
        s.done = true;
    }

    static void label(trace::recorder& r, std::size_t id, std::string label) {
        if (id == 0 || id > r.spans_.size()) return;
        r.spans_[id - 1].label = std::move(label);
    }
};

}  // namespace detail

/// Labels the span of the collected task the caller runs in (the innermost
/// one, when collections nest), e.g. "record 3 https://…/a.jpg". A later
/// call replaces the label. The label is what the trace shows for the task
/// instead of its collection's `options::name` and index.
///
/// No effect when the root scope records no trace, or outside a collected
/// task (a group's body labels the task that runs the group, if any).
///
/// Completion: immediately; never suspends, never throws.
///
/// @code
/// awaitable<image> fetch(std::size_t i, std::string url) {
///     auto naming = muster::name_task("record " + std::to_string(i) + " " + url);
///     co_await std::move(naming);  // named first: GCC 12 and co_await temporaries
///     auto downloading = download(url);
///     co_return co_await std::move(downloading);
/// }
/// @endcode
inline boost::asio::awaitable<void> name_task(std::string label) {
    const detail::scope_state* scope =
        detail::find_scope(co_await boost::asio::this_coro::executor);
    if (!scope || !scope->recorder()) co_return;
    detail::recorder_access::label(*scope->recorder(), scope->span(), std::move(label));
}

}  // namespace muster
