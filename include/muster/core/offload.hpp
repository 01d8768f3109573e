/// @file
/// `offload`: run a CPU-bound callable on a thread pool and await its result,
/// and `cpu_pool`, the one process-wide pool sized to the vCPUs.
#pragma once

#include <algorithm>
#include <atomic>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/detail/handoff.hpp>
#include <muster/core/detail/held_handler.hpp>

namespace muster {

// ---- sizing the CPU pool ----------------------------------------------------

namespace detail {

/// Parses one non-negative decimal integer that fills all of `text`.
inline std::optional<std::uint64_t> parse_count(std::string_view text) noexcept {
    std::uint64_t n = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc{} || p != end || text.empty()) return std::nullopt;
    return n;
}

/// Splits `text` at ASCII whitespace.
inline std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    constexpr std::string_view space = " \t\r\n";
    std::size_t i = text.find_first_not_of(space);
    while (i != std::string_view::npos) {
        std::size_t j = text.find_first_of(space, i);
        fields.push_back(
            text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
        i = j == std::string_view::npos ? j : text.find_first_not_of(space, j);
    }
    return fields;
}

/// ceil(quota / period), or nullopt when either is zero; saturates at
/// `unsigned`'s maximum.
inline std::optional<unsigned> cpus_for_quota(std::uint64_t quota, std::uint64_t period) noexcept {
    if (quota == 0 || period == 0) return std::nullopt;
    const std::uint64_t cpus = quota / period + (quota % period != 0 ? 1 : 0);
    return static_cast<unsigned>(
        std::min<std::uint64_t>(cpus, std::numeric_limits<unsigned>::max()));
}

/// The CPUs a cgroup v2 `cpu.max` allows: its text is `"$MAX $PERIOD"`, for
/// example `"200000 100000\n"` (2 CPUs) or `"150000 100000"` (1.5, rounded up
/// to 2). Returns nullopt when there is no limit (`"max 100000"`) or when the
/// text is not of that form, meaning "fall back to the next source".
inline std::optional<unsigned> cpu_count_from_cgroup(std::string_view cpu_max_text) {
    const auto fields = split_fields(cpu_max_text);
    if (fields.size() != 2 || fields[0] == "max") return std::nullopt;
    const auto quota = parse_count(fields[0]);
    const auto period = parse_count(fields[1]);
    if (!quota || !period) return std::nullopt;
    return cpus_for_quota(*quota, *period);
}

/// The CPUs a cgroup v1 quota allows, from the texts of `cpu.cfs_quota_us`
/// and `cpu.cfs_period_us`. Returns nullopt for no limit (a quota of `-1`) or
/// unreadable text.
inline std::optional<unsigned> cpu_count_from_cgroup_v1(std::string_view quota_text,
                                                        std::string_view period_text) {
    const auto quota = split_fields(quota_text);
    const auto period = split_fields(period_text);
    if (quota.size() != 1 || period.size() != 1) return std::nullopt;
    const auto q = parse_count(quota[0]);  // "-1" (no limit) does not parse: falls back
    const auto p = parse_count(period[0]);
    if (!q || !p) return std::nullopt;
    return cpus_for_quota(*q, *p);
}

/// The process's cgroup v2 path (`"/system.slice/x.service"`) from the text of
/// `/proc/self/cgroup`, i.e. its `0::<path>` line; nullopt when it has none.
inline std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup) {
    std::size_t line_start = 0;
    while (line_start < proc_self_cgroup.size()) {
        std::size_t line_end = proc_self_cgroup.find('\n', line_start);
        if (line_end == std::string_view::npos) line_end = proc_self_cgroup.size();
        const auto line = proc_self_cgroup.substr(line_start, line_end - line_start);
        if (line.starts_with("0::/")) return std::string(line.substr(3));
        line_start = line_end + 1;
    }
    return std::nullopt;
}

/// The name of the variable that overrides the CPU pool's size.
inline constexpr const char* cpu_threads_variable = "MUSTER_CPU_THREADS";

/// Everything the pool size is decided from, as read from the system; plain
/// text so the decision can be tested without the real files.
struct cpu_sources {
    std::optional<std::string> env;                ///< `MUSTER_CPU_THREADS`, when set.
    std::optional<std::string> cgroup_v2_cpu_max;  ///< Text of the cgroup v2 `cpu.max`.
    std::optional<std::string> cgroup_v1_quota;    ///< Text of `cpu.cfs_quota_us`.
    std::optional<std::string> cgroup_v1_period;   ///< Text of `cpu.cfs_period_us`.
    unsigned hardware = 0;                         ///< `hardware_concurrency()`; 0 if unknown.
};

/// Decides the pool size: `env` when set (it must be a positive integer, or
/// `std::invalid_argument` is thrown), else the cgroup v2 quota, else the v1
/// quota, else `hardware`; a quota never exceeds `hardware` when that is
/// known; the result is at least 1.
inline unsigned resolve_cpu_count(const cpu_sources& s) {
    if (s.env) {
        const auto fields = split_fields(*s.env);
        const auto n = fields.size() == 1 ? parse_count(fields[0]) : std::nullopt;
        if (!n || *n == 0 || *n > std::numeric_limits<unsigned>::max()) {
            throw std::invalid_argument(std::string("muster: ") + cpu_threads_variable +
                                        " must be a positive integer, got '" + *s.env + "'");
        }
        return static_cast<unsigned>(*n);
    }
    std::optional<unsigned> quota;
    if (s.cgroup_v2_cpu_max) quota = cpu_count_from_cgroup(*s.cgroup_v2_cpu_max);
    if (!quota && s.cgroup_v1_quota && s.cgroup_v1_period) {
        quota = cpu_count_from_cgroup_v1(*s.cgroup_v1_quota, *s.cgroup_v1_period);
    }
    unsigned n = s.hardware;
    if (quota) n = s.hardware == 0 ? *quota : std::min(*quota, s.hardware);
    return std::max(n, 1u);
}

/// The whole (small) file at `path`, or nullopt when it cannot be read.
inline std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(text).str();
}

/// Reads the sources `resolve_cpu_count` decides from: the environment, the
/// process's own cgroup v2 `cpu.max` (then the one at the cgroup root, which is
/// the process's own inside a container), the cgroup v1 CFS quota, and
/// `std::thread::hardware_concurrency()`.
inline cpu_sources read_cpu_sources() {
    cpu_sources s;
    if (const char* env = std::getenv(cpu_threads_variable)) s.env = env;
    if (auto self = read_text_file("/proc/self/cgroup")) {
        if (auto path = cgroup_v2_path(*self); path && *path != "/") {
            s.cgroup_v2_cpu_max = read_text_file("/sys/fs/cgroup" + *path + "/cpu.max");
        }
    }
    if (!s.cgroup_v2_cpu_max) s.cgroup_v2_cpu_max = read_text_file("/sys/fs/cgroup/cpu.max");
    for (const char* dir : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
        s.cgroup_v1_quota = read_text_file(std::string(dir) + "/cpu.cfs_quota_us");
        s.cgroup_v1_period = read_text_file(std::string(dir) + "/cpu.cfs_period_us");
        if (s.cgroup_v1_quota && s.cgroup_v1_period) break;
    }
    s.hardware = std::thread::hardware_concurrency();
    return s;
}

}  // namespace detail

/// The number of threads `cpu_pool()` has (or would have, if created now):
/// `MUSTER_CPU_THREADS` when set, else the CPU quota of the process's cgroup
/// (v2 `cpu.max`, then v1 `cpu.cfs_quota_us / cpu.cfs_period_us`, rounded up
/// and capped at the hardware's count), else
/// `std::thread::hardware_concurrency()`; never less than 1.
///
/// Errors: `std::invalid_argument` when `MUSTER_CPU_THREADS` is set but is not
/// a positive integer (a misconfiguration is reported, never guessed around).
///
/// Thread-safety: reads the environment and a few files on every call; safe to
/// call from any thread as long as nobody modifies the environment meanwhile.
///
/// @code
/// std::printf("offloading to %u threads\n", muster::default_cpu_count());
/// @endcode
inline unsigned default_cpu_count() {
    return detail::resolve_cpu_count(detail::read_cpu_sources());
}

/// The process-wide CPU pool that `offload(fn)` runs on, created on first use
/// with `default_cpu_count()` threads.
///
/// Lifetime: a function-local static, destroyed at exit (its destructor stops
/// the pool and joins its threads). Do not offload from static destructors.
///
/// Errors: the first call throws what `default_cpu_count()` throws; a later
/// call tries again.
///
/// Thread-safety: safe to call from any thread; the pool's executor is
/// thread-safe.
///
/// @code
/// boost::asio::post(muster::cpu_pool(), [] { warm_caches(); });
/// @endcode
inline boost::asio::thread_pool& cpu_pool() {
    static boost::asio::thread_pool pool(default_cpu_count());
    return pool;
}

// ---- offload ------------------------------------------------------------------

namespace detail {

/// Whether `offload` hands `Fn` a stop token.
template <class Fn>
inline constexpr bool takes_stop_token_v = std::is_invocable_v<Fn, std::stop_token>;

/// What `offload(fn)` returns: `fn`'s result with references and cv removed.
template <class Fn>
using offload_result_t = std::remove_cvref_t<typename std::conditional_t<
    takes_stop_token_v<Fn>, std::invoke_result<Fn, std::stop_token>, std::invoke_result<Fn>>::type>;

template <class Fn>
concept invocable_on_pool = std::invocable<Fn> || std::invocable<Fn, std::stop_token>;

template <class T>
concept void_or_movable = std::is_void_v<T> || std::move_constructible<T>;

template <class Fn>
concept offloadable =
    std::move_constructible<Fn> && invocable_on_pool<Fn> && void_or_movable<offload_result_t<Fn>>;

template <class Executor>
concept pool_executor = boost::asio::execution::is_executor<Executor>::value ||
    boost::asio::is_executor<Executor>::value;

struct no_stop_source {};

/// One offloaded call, shared by the awaiting coroutine (its frame holds a
/// reference), the pool (the posted job holds one) and the completion posted
/// back. `phase_` decides, once, whether the call runs or is skipped.
template <class Fn>
class offload_state : public std::enable_shared_from_this<offload_state<Fn>> {
  public:
    using result_type = offload_result_t<Fn>;
    using signature = void(std::exception_ptr);

    explicit offload_state(Fn fn) : fn_(std::move(fn)) {}

    /// Initiation, on the awaiting coroutine's thread: keeps the handler and
    /// the io_context's work, hooks cancellation, sends the call to the pool.
    template <class Handler, class PoolExecutor>
    void start(Handler handler, const boost::asio::any_io_executor& io, const PoolExecutor& pool) {
        namespace asio = boost::asio;
        handoff_.hold(asio::any_io_executor(asio::get_associated_executor(handler, io)));
        slot_ = asio::get_associated_cancellation_slot(handler);
        handler_.hold(std::move(handler));
        if (slot_.is_connected()) slot_.template emplace<cancel_hook>(this);
        asio::post(pool, [self = this->shared_from_this()] { self->run(); });
    }

    /// The value, once the awaited operation completed without error.
    result_type take() {
        if constexpr (!std::is_void_v<result_type>) {
            result_type value = std::move(*result_);
            result_.reset();  // here, not on the pool thread that may drop the state last
            return value;
        }
    }

  private:
    enum class phase : std::uint8_t {
        queued,    // posted to the pool; cancellation may still skip it
        running,   // the pool thread owns fn; cancellation only asks it to stop
        finished,  // fn returned or threw; the completion is posted
        skipped,   // cancelled before it started; fn will never run
    };

    struct cancel_hook {
        explicit cancel_hook(offload_state* s) noexcept : self(s) {}
        offload_state* self;
        void operator()(boost::asio::cancellation_type_t type) const { self->cancel(type); }
    };

    // On a pool thread.
    void run() noexcept {
        phase expected = phase::queued;
        if (!phase_.compare_exchange_strong(expected, phase::running, std::memory_order_acq_rel)) {
            fn_.reset();  // skipped: fn is still destroyed on the pool, like a fn that ran
            return;
        }
        try {
            if constexpr (std::is_void_v<result_type>) {
                invoke();
            } else {
                result_.emplace(invoke());
            }
        } catch (...) {
            error_ = std::current_exception();
        }
        fn_.reset();
        phase_.store(phase::finished, std::memory_order_release);
        post_completion();
    }

    decltype(auto) invoke() {
        if constexpr (takes_stop_token_v<Fn>) {
            return std::invoke(std::move(*fn_), stop_.get_token());
        } else {
            return std::invoke(std::move(*fn_));
        }
    }

    // Wherever the cancellation signal is emitted: the awaiting coroutine's
    // thread.
    void cancel(boost::asio::cancellation_type_t type) {
        using boost::asio::cancellation_type;
        if ((type & (cancellation_type::terminal | cancellation_type::partial |
                     cancellation_type::total)) == cancellation_type::none) {
            return;
        }
        phase expected = phase::queued;
        if (phase_.compare_exchange_strong(expected, phase::skipped, std::memory_order_acq_rel)) {
            error_ = std::make_exception_ptr(boost::system::system_error(
                boost::asio::error::operation_aborted, "muster::offload"));
            post_completion();
        } else if (expected == phase::running) {
            if constexpr (takes_stop_token_v<Fn>) stop_.request_stop();
        }
    }

    // By whichever side decided the outcome (the pool after the call, or the
    // canceller before it). Never completes inline: the handler runs on its
    // own executor, where `deliver` also unhooks the cancellation slot, and
    // only once the pool thread is done with that executor.
    void post_completion() {
        handoff_.post([self = this->shared_from_this()] { self->deliver(); });
    }

    // On the handler's executor.
    void deliver() {
        slot_.clear();
        auto handler = handler_.take();
        // The state may die on the pool thread; nothing that the coroutine
        // will touch is left in it.
        std::move(handler)(std::exchange(error_, nullptr));
    }

    std::optional<Fn> fn_;
    [[no_unique_address]] std::conditional_t<takes_stop_token_v<Fn>, std::stop_source,
                                             no_stop_source>
        stop_;
    std::atomic<phase> phase_{phase::queued};
    std::conditional_t<std::is_void_v<result_type>, no_stop_source, std::optional<result_type>>
        result_;
    std::exception_ptr error_;
    completion_handoff handoff_;
    boost::asio::cancellation_slot slot_;
    detail::held_handler<signature> handler_;
};

template <class Fn, class PoolExecutor>
struct initiate_offload {
    std::shared_ptr<offload_state<Fn>> state;
    PoolExecutor pool;
    boost::asio::any_io_executor io;

    template <class Handler>
    void operator()(Handler&& handler) {
        state->start(std::forward<Handler>(handler), io, pool);
    }
};

}  // namespace detail

/// Runs `fn` on `pool` and completes with its result.
///
/// `fn` is called once, as an rvalue, on a thread of `pool`. If it is
/// invocable with a `std::stop_token` it receives one, and cancelling the
/// awaiting operation asks it to stop (`request_stop()`); stopping is
/// cooperative, `fn` decides when to return. `fn` is destroyed on the pool.
///
/// Completion: with `fn`'s return value (moved; a reference result is
/// copied; move-only results are fine) once `fn` has returned, or with what it
/// threw once it has thrown. The awaiting coroutine resumes on its own
/// executor, never on the pool. The io_context's outstanding work is held
/// while `fn` runs, so `run()` does not return under it. When the coroutine
/// resumes, the pool thread is done with its executor and io_context: the
/// io_context may be destroyed as soon as the coroutine has finished.
///
/// Errors: whatever `fn` throws is rethrown in the awaiting coroutine with
/// its type. `boost::system::system_error` with
/// `boost::asio::error::operation_aborted` when cancelled before `fn` started.
///
/// Cancellation (terminal, partial or total; a coroutine passes only terminal
/// unless it reset its cancellation state): if `fn` has not started yet, it
/// never will, and the operation completes at once with `operation_aborted`.
/// If `fn` is running, the stop token is requested and the operation still
/// waits for `fn` to finish: it never completes while `fn` runs. A `fn` that
/// finishes despite the request delivers its value or exception as usual.
/// Within muster's collections, deadlines and task timeouts arrive this way.
///
/// Lifetime: `fn` and its result live in a reference-counted state shared
/// with the pool; `pool` must outlive the call.
///
/// Thread-safety: await from a coroutine on a single-threaded io_context (or
/// a strand); `fn` runs concurrently with it and must synchronise whatever it
/// shares with it.
///
/// @code
/// boost::asio::thread_pool decoders(4);
/// auto decode = [bytes = std::move(bytes)] { return decode_png(bytes); };
/// // Named first: GCC 12 may destroy a capturing lambda twice when it is
/// // written inside the co_await expression (see the README).
/// auto pixels = co_await muster::offload(decoders.get_executor(), std::move(decode));
/// @endcode
template <detail::pool_executor Executor, detail::offloadable Fn>
boost::asio::awaitable<detail::offload_result_t<Fn>> offload(Executor pool, Fn fn) {
    namespace asio = boost::asio;
    auto state = std::make_shared<detail::offload_state<Fn>>(std::move(fn));
    asio::any_io_executor io = co_await asio::this_coro::executor;
    // Named, not a temporary in the co_await expression: GCC 12 destroys an
    // aggregate temporary there twice (here: one reference too few on `state`).
    detail::initiate_offload<Fn, Executor> init{state, std::move(pool), std::move(io)};
    co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                  typename detail::offload_state<Fn>::signature>(
        std::move(init), asio::use_awaitable);
    co_return state->take();
}

/// Runs `fn` on `pool`: `offload(pool.get_executor(), std::move(fn))`. See
/// there for completion, errors and cancellation. `pool` must outlive the
/// call.
///
/// @code
/// boost::asio::thread_pool pool(2);
/// int n = co_await muster::offload(pool, [] { return count_primes(1'000'000); });
/// @endcode
template <detail::offloadable Fn>
boost::asio::awaitable<detail::offload_result_t<Fn>> offload(boost::asio::thread_pool& pool,
                                                             Fn fn) {
    return offload(pool.get_executor(), std::move(fn));
}

/// Runs `fn` on the process-wide `cpu_pool()`:
/// `offload(cpu_pool().get_executor(), std::move(fn))`. See there for
/// completion, errors and cancellation; in addition, the first use throws
/// what `cpu_pool()` throws.
///
/// @code
/// auto job = [img = std::move(img)](std::stop_token st) {
///     return resize(img, 256, st);  // checks st.stop_requested() between rows
/// };
/// auto thumb = co_await muster::offload(std::move(job));
/// @endcode
template <detail::offloadable Fn>
boost::asio::awaitable<detail::offload_result_t<Fn>> offload(Fn fn) {
    return offload(cpu_pool().get_executor(), std::move(fn));
}

}  // namespace muster
