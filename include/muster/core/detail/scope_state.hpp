/// @file
/// What a scope knows (deadline, ledger, recorder, trace id, clock) and the
/// intrusive handle executors carry it by. Internal; see `root_scope` and
/// `basic_scope_executor`.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <muster/core/ledger.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/time_source.hpp>

namespace muster {

namespace trace {
class recorder;
}

namespace detail {

/// What a scope knows. Reference-counted because executors that carry it are
/// copied freely, also onto other threads (a callback posting back).
class scope_state {
  public:
    /// A nested scope; `span` is the trace span of the collected task that
    /// runs in it (0 for a scope that is not a task's own).
    scope_state(scope_state* parent, clock::time_point deadline, std::size_t span = 0) noexcept
        : parent_(parent),
          ledger_(parent ? parent->ledger_ : nullptr),
          recorder_(parent ? parent->recorder_ : nullptr),
          deadline_(deadline),
          span_(span) {
        if (parent_) parent_->add_ref();
    }
    /// A root scope that keeps a ledger of its work and, when `recorder` is
    /// set, a trace of it (see `root_scope`).
    scope_state(clock::time_point deadline, std::unique_ptr<task_ledger> ledger,
                std::string trace_id, std::shared_ptr<trace::recorder> recorder = nullptr,
                time_source* time = nullptr)
        : parent_(nullptr),
          ledger_(ledger.get()),
          recorder_(recorder.get()),
          root_(std::make_unique<root_data>(
              root_data{std::move(ledger), std::move(recorder), std::move(trace_id), time})),
          deadline_(deadline) {}
    scope_state(const scope_state&) = delete;
    scope_state& operator=(const scope_state&) = delete;
    ~scope_state() {
        if (parent_) parent_->release();
    }

    /// The effective deadline: already the minimum with every enclosing scope.
    clock::time_point deadline() const noexcept { return deadline_; }
    const scope_state* parent() const noexcept { return parent_; }
    /// The ledger of the root scope, if it keeps one. Lives as long as this
    /// state: every child holds a reference to its parent.
    task_ledger* ledger() const noexcept { return ledger_; }
    /// The trace recorder of the root scope, if it records one. Lives as
    /// long as this state, like the ledger.
    trace::recorder* recorder() const noexcept { return recorder_; }
    /// The time source of the root scope, or null for the steady clock.
    /// Looked up once per collection, so it lives in the root and keeps the
    /// per-task scopes a pointer smaller.
    time_source* time() const noexcept {
        const scope_state* s = this;
        while (s->parent_) s = s->parent_;
        return s->root_ ? s->root_->time : nullptr;
    }
    /// The trace span of the innermost collected task this scope belongs
    /// to, or 0 outside any (or when nothing records).
    std::size_t span() const noexcept {
        for (const scope_state* s = this; s; s = s->parent_)
            if (s->span_ != 0) return s->span_;
        return 0;
    }
    /// The trace id of the root scope (empty when it has none). Set once,
    /// before any executor of the scope exists, so reading it needs no lock.
    std::string_view trace_id() const noexcept {
        const scope_state* s = this;
        while (s->parent_) s = s->parent_;
        return s->root_ ? std::string_view(s->root_->trace_id) : std::string_view{};
    }

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

  private:
    /// What only a root owns; nested scopes (one per collection, and one
    /// per task with a timeout) stay small without it.
    struct root_data {
        std::unique_ptr<task_ledger> ledger;
        std::shared_ptr<trace::recorder> recorder;
        std::string trace_id;
        time_source* time = nullptr;
    };

    std::atomic<std::size_t> refs_{1};
    scope_state* parent_;
    task_ledger* ledger_;
    trace::recorder* recorder_ = nullptr;
    std::unique_ptr<root_data> root_;
    clock::time_point deadline_;
    std::size_t span_ = 0;
};

/// An owning handle to a `scope_state` (intrusive, one pointer wide so the
/// executor that carries it fits in `any_io_executor`'s small buffer).
class scope_ptr {
  public:
    scope_ptr() noexcept = default;
    /// Adopts a freshly created state (its count starts at one).
    static scope_ptr adopt(scope_state* s) noexcept {
        scope_ptr p;
        p.p_ = s;
        return p;
    }
    scope_ptr(const scope_ptr& o) noexcept : p_(o.p_) {
        if (p_) p_->add_ref();
    }
    scope_ptr(scope_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    scope_ptr& operator=(scope_ptr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~scope_ptr() {
        if (p_) p_->release();
    }
    scope_state* get() const noexcept { return p_; }
    scope_state* operator->() const noexcept { return p_; }
    friend bool operator==(const scope_ptr& a, const scope_ptr& b) noexcept { return a.p_ == b.p_; }

  private:
    scope_state* p_ = nullptr;
};

}  // namespace detail

}  // namespace muster
