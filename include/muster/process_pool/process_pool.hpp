/// @file
/// `process_pool`: CPU work in crash-isolated worker processes that can be
/// killed, so a poison input fails its own task and nothing else.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/stable_string.hpp>
#include <muster/process_pool/errors.hpp>
#include <muster/process_pool/work.hpp>

namespace muster {

namespace detail {
class process_pool_impl;
}

/// How a `process_pool` sizes, limits and times its workers. Every field
/// has a usable default. Safe to write inline, even inside a `co_await`
/// expression under GCC 12 (`muster::process_pool pool{co_await
/// asio::this_coro::executor, {.workers = 2}};`): every member survives
/// being copied bit by bit (see the README's compiler section).
struct process_pool_options {
    /// Worker processes; 0 means `default_cpu_count()` (the CPU pool's size:
    /// `MUSTER_CPU_THREADS`, else the cgroup CPU quota, else the hardware).
    std::size_t workers = 0;

    /// Time allowed to each task from the moment a worker starts it. When it
    /// runs out the worker is killed and the task fails with
    /// `timeout_error` (`timed_out` in a collection). Unset: only the scope's
    /// deadline applies.
    std::optional<clock::duration> task_timeout;

    /// Memory each worker may use, in bytes; 0 for no limit. Applied as
    /// `RLIMIT_AS` (address space), so an allocation past it fails inside
    /// the work function (`std::bad_alloc`, reported as a `work_error`) and
    /// the worker survives. It counts the whole address space, program and
    /// libraries included: leave room for them. In a build with AddressSanitizer
    /// or ThreadSanitizer, whose shadow memory makes any `RLIMIT_AS` fail, the
    /// worker instead watches its own resident memory every few milliseconds
    /// and exits (the task fails with `worker_crashed`) once it passes the
    /// limit.
    std::size_t memory_limit = 0;

    /// CPU time each task may use, in whole seconds; 0 for no limit. Applied
    /// as `RLIMIT_CPU`, moved forward before every task, so the worker is
    /// killed by `SIGXCPU` (`worker_crashed`) when one task uses more.
    std::chrono::seconds cpu_time_limit{0};

    /// Open file descriptors each worker may have (`RLIMIT_NOFILE`); 0 for
    /// the inherited limit. At least 8 when set.
    std::size_t open_files_limit = 0;

    /// Largest input or result, in bytes (at most 4 GiB - 1). A larger
    /// input is refused with `std::length_error`; a larger result fails its
    /// task with a `work_error`; a larger frame announced by a worker counts
    /// as garbage (`worker_crashed`).
    std::size_t max_frame_bytes = std::size_t{64} << 20;

    /// The program the workers run; empty means this program
    /// (`/proc/self/exe`). Another program must call
    /// `process_pool::worker_main_if_requested` first thing in its `main`
    /// and register the same work functions, and be built with the same
    /// muster release (the channel's protocol has a version; a worker of
    /// another fails to start, saying so).
    muster::stable_string executable;

    /// How long a new worker may take to report that it is ready.
    clock::duration start_timeout = std::chrono::seconds(10);
};

/// A pool of worker processes running registered work functions, one task
/// per worker at a time: `co_await pool.run("thumbnail", bytes)`.
///
/// Workers are this program (or `options.executable`) started again with
/// `posix_spawn` (never `fork`, so a multithreaded parent is fine), each in
/// its own process group, talking to the pool over a socketpair with
/// length-prefixed frames. `main` must begin with
/// `worker_main_if_requested`, which turns such a process into a worker. All
/// workers start together on the first `run` (or on `start()`) and stay warm;
/// a worker that dies while it works or starts is replaced at once.
///
/// Idle workers hold no work on the executor (no read, timer or exit watch
/// is pending for them), so `io.run()` returns once every task is done, as
/// in the example below, with the pool and its warm workers still there for
/// the next `run`. The price: a worker that dies while idle is noticed when
/// it is next handed a task; it is reaped then (a zombie until that moment,
/// or until the pool is destroyed) and a replacement runs the task.
///
/// Completion: `run` completes with the function's result once a worker
/// has returned it, or with an error once the worker is known to be dead or
/// the task was refused. It never completes while the work still runs in a
/// live worker.
///
/// Errors (of `run`): `worker_crashed` (the worker died or misbehaved while
/// running this task: signal or exit code and the function's name in the
/// message), `work_error` (the function threw; the worker lives on),
/// `timeout_error` (`task_timeout` or the scope's deadline passed; the
/// worker was killed), `worker_start_error` (no worker could start),
/// `std::invalid_argument` (no function of that name is registered in this
/// program), `std::length_error` (input over `max_frame_bytes`),
/// `boost::system::system_error(operation_aborted)` when cancelled or when
/// the pool shut down first.
///
/// Cancellation (terminal, partial or total; what `gather`, `as_completed`
/// and `with_group` send at a `task_timeout`, a deadline or a policy stop):
/// a queued task leaves the queue; a running task's worker is killed with
/// `SIGKILL` and the task completes with `operation_aborted` once it is
/// dead, so the collection records `timed_out` or `cancelled` as usual.
///
/// Deadlines: a task also stops at the deadline of the scope it runs in (the
/// invocation's, or a collection's) without help: queued, it fails with
/// `timeout_error`; running, its worker is killed first.
///
/// Lifetime: the pool must outlive every `run` it started and be destroyed
/// before its io_context. It may outlive `io.run()` (nothing needs closing
/// for `run()` to return). Destroying it (or `shutdown()`) kills every
/// worker and reaps it; tasks still pending complete with
/// `operation_aborted`.
/// Workers also die with the parent: they get `SIGKILL` through
/// `PR_SET_PDEATHSIG` when the thread that spawned them (the io_context's)
/// ends. No worker outlives the pool and none is left a zombie.
///
/// Thread-safety: create the pool, await `run` and call every member from
/// the thread that runs its io_context (as for any Asio I/O object).
/// Workers run in parallel with it and with each other.
///
/// @code
/// std::string shout(std::string_view in) { return std::string(in) + "!"; }
/// const muster::work_registrar shout_work{"shout", shout};
///
/// int main(int argc, char** argv) {
///     if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
///     boost::asio::io_context io;
///     muster::process_pool_options options;
///     options.task_timeout = std::chrono::seconds(2);
///     muster::process_pool pool(io.get_executor(), options);
///     boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
///         auto r = co_await muster::gather(pool.run("shout", "a"), pool.run("shout", "b"));
///         std::puts(std::get<0>(r).value().c_str());  // a! (value() throws if it failed)
///     }, boost::asio::detached);
///     io.run();
/// }
/// @endcode
class process_pool {
  public:
    /// A pool whose sockets, timers and completions run on `ex` (an
    /// io_context's executor). Starts no process yet.
    ///
    /// Errors: `std::invalid_argument` for options that make no sense;
    /// `std::logic_error` when this program is to be the worker (no
    /// `executable` given) but its `main` never called
    /// `worker_main_if_requested`, or when called inside a worker; what
    /// `default_cpu_count()` throws when `workers` is 0.
    explicit process_pool(boost::asio::any_io_executor ex, process_pool_options options = {});
    process_pool(const process_pool&) = delete;
    process_pool& operator=(const process_pool&) = delete;
    /// `shutdown()`.
    ~process_pool();

    /// Runs the work function `function` on `input` in a worker and
    /// completes with its result. Waits in a first-come queue while every
    /// worker is busy. See the class for completion, errors, cancellation
    /// and deadlines.
    boost::asio::awaitable<std::string> run(std::string function, std::string input);

    /// Starts every worker now, rather than on the first `run`, and
    /// completes once all of them are ready (at once if they are).
    ///
    /// Errors: `worker_start_error` when a worker fails to start;
    /// `operation_aborted` when the pool is shut down meanwhile.
    ///
    /// Cancellation: none; it completes within `start_timeout`.
    boost::asio::awaitable<void> start();

    /// Kills every worker (`SIGKILL` to its process group), reaps it, and
    /// fails every pending task with `operation_aborted`. Later `run`s fail
    /// the same way. Idempotent.
    void shutdown();

    /// The number of workers the pool keeps.
    std::size_t size() const noexcept;

    /// The process ids of the live workers (started, not yet reaped).
    std::vector<int> worker_pids() const;

    /// How many workers have been started in all, replacements included.
    std::size_t workers_started() const noexcept;

    /// Call first thing in `main`, before any thread exists and before
    /// anything else reads `argc`/`argv`: in a process the pool started as
    /// a worker it serves tasks until the pool closes the channel and
    /// returns the exit status for `main` to return; in any other process
    /// it returns `std::nullopt` at once and changes nothing.
    ///
    /// Work functions must be registered before (a namespace-scope
    /// `work_registrar` is). A worker process sets `PR_SET_PDEATHSIG`, its
    /// resource limits, and never starts a pool of its own.
    ///
    /// @code
    /// int main(int argc, char** argv) {
    ///     if (auto code = muster::process_pool::worker_main_if_requested(argc, argv))
    ///         return *code;
    ///     // ... the program proper
    /// }
    /// @endcode
    static std::optional<int> worker_main_if_requested(int argc, char** argv);

  private:
    std::shared_ptr<detail::process_pool_impl> impl_;
};

}  // namespace muster
