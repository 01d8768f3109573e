// The parent side: spawning workers, talking to them over Asio on the one
// io_context thread, noticing their deaths through pidfds, and deciding how
// each task ends.
#include <muster/process_pool/process_pool.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/cpu_pool.hpp>
#include <muster/core/detail/held_handler.hpp>
#include <muster/core/errors.hpp>
#include <muster/core/scope.hpp>

#include "protocol.hpp"
#include "registry.hpp"

extern char** environ;

namespace muster {

namespace detail {

namespace {

namespace asio = boost::asio;
namespace proto = pool_protocol;
using result_signature = void(std::exception_ptr, std::string);
using start_signature = void(std::exception_ptr);

std::exception_ptr aborted(const char* what) {
    return std::make_exception_ptr(
        boost::system::system_error(asio::error::operation_aborted, what));
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string mebibytes(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

/// Whether child `pid` has ended, without reaping it (WNOWAIT), so that its
/// process group id cannot be reused before the group is killed.
bool has_ended(pid_t pid) {
    siginfo_t info{};
    int rc = 0;
    while ((rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT)) < 0 &&
           errno == EINTR) {
    }
    // ECHILD: reaped already (not by the pool); it has ended all the same.
    return rc == 0 ? info.si_pid == pid : errno == ECHILD;
}

/// A descriptor moved above the standard ones and descriptor 3, so that
/// dup2 onto 3 in the child always makes a fresh, inheritable copy.
int move_high(int fd) {
    if (fd > proto::worker_fd) return fd;
    int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    ::close(fd);
    return high;
}

}  // namespace

/// One `run`: shared by the awaiting coroutine's handler, the queue and the
/// worker running it.
struct pool_task {
    enum class phase : std::uint8_t {
        queued,    // waiting for an idle worker
        running,   // its request went to `worker`; only the worker's end ends it
        finished,  // its completion is posted; nothing changes it any more
    };

    pool_task(const asio::any_io_executor& ex, std::string fn, std::string in)
        : function(std::move(fn)), input(std::move(in)), timer(ex) {}

    std::string function;
    std::string input;
    std::uint32_t id = 0;
    std::uint64_t tag = 0;  // its request's, fresh when a worker takes it
    clock::time_point deadline = clock::time_point::max();  // the scope's
    bool own_timeout = false;  // the timer's expiry is the pool's task_timeout
    phase state = phase::queued;
    asio::steady_timer timer;
    unsigned timer_generation = 0;
    asio::any_io_executor work;
    asio::cancellation_slot slot;
    muster::detail::held_handler<result_signature> handler;
};

/// One worker process and its channel.
struct pool_worker {
    enum class phase : std::uint8_t {
        starting,  // spawned; its hello has not arrived
        idle,      // ready for a request
        busy,      // running `current`
        dying,     // killed, or found dead; waits for both its exit and its channel's end
    };
    // An idle worker has nothing pending on the executor (no read, no exit
    // watch, no timer), so an io_context whose tasks are all done runs out
    // of work and `run()` returns; it is checked when it is next handed a
    // task instead (`process_pool_impl::usable`).
    enum class end_reason : std::uint8_t { none, timeout, cancelled, garbage, silent, shutdown };

    explicit pool_worker(const asio::any_io_executor& ex) : socket(ex), pidfd(ex), timer(ex) {}

    pid_t pid = 0;
    asio::local::stream_protocol::socket socket;
    asio::posix::stream_descriptor pidfd;
    asio::steady_timer timer;  // start timeout, then the grace periods of dying
    unsigned timer_generation = 0;
    phase state = phase::starting;
    std::shared_ptr<pool_task> current;
    end_reason reason = end_reason::none;
    std::string reason_detail;
    bool ready_once = false;  // its hello arrived
    bool exited = false;
    int wait_status = 0;
    bool wait_status_known = false;
    bool channel_closed = false;
    bool retired = false;
    bool reading = false;           // a read of its channel is pending
    unsigned watch_generation = 0;  // the current exit watch; 0: none pending
    proto::frame_header in_header{};
    proto::frame_header out_header{};
    std::string body;
};

class process_pool_impl : public std::enable_shared_from_this<process_pool_impl> {
  public:
    process_pool_impl(asio::any_io_executor ex, process_pool_options o)
        : ex_(std::move(ex)), opts_(std::move(o)) {
        if (opts_.max_frame_bytes == 0 ||
            opts_.max_frame_bytes > std::numeric_limits<std::uint32_t>::max()) {
            throw std::invalid_argument(
                "muster::process_pool: max_frame_bytes must be between 1 and 4 GiB - 1");
        }
        if (opts_.open_files_limit != 0 && opts_.open_files_limit < 8) {
            throw std::invalid_argument(
                "muster::process_pool: open_files_limit must be 0 (inherit) or at least 8");
        }
        if (opts_.task_timeout && *opts_.task_timeout < clock::duration::zero()) {
            throw std::invalid_argument("muster::process_pool: task_timeout must not be negative");
        }
        if (opts_.cpu_time_limit.count() < 0) {
            throw std::invalid_argument(
                "muster::process_pool: cpu_time_limit must not be negative");
        }
        if (opts_.start_timeout <= clock::duration::zero()) {
            throw std::invalid_argument("muster::process_pool: start_timeout must be positive");
        }
        if (std::getenv(proto::worker_variable)) {
            throw std::logic_error(
                "muster::process_pool: this process is a pool worker whose main() did not hand "
                "over to muster::process_pool::worker_main_if_requested; workers never start "
                "pools of their own");
        }
        self_executable_ = opts_.executable.empty();
        if (self_executable_ && !worker_entry_called()) {
            throw std::logic_error(
                "muster::process_pool: workers are this program started again, but its main() "
                "never called muster::process_pool::worker_main_if_requested(argc, argv); call "
                "it first thing in main()");
        }
        executable_ = self_executable_ ? "/proc/self/exe" : opts_.executable;
        size_ = opts_.workers != 0 ? opts_.workers : default_cpu_count();
    }

    std::size_t size() const noexcept { return size_; }
    const asio::any_io_executor& executor() const noexcept { return ex_; }
    std::size_t spawned() const noexcept { return spawned_; }

    std::vector<int> worker_pids() const {
        std::vector<int> pids;
        for (const auto& w : workers_) {
            if (!w->exited) pids.push_back(w->pid);
        }
        return pids;
    }

    /// What `run` refuses before anything is queued.
    void check_request(const std::string& function, const std::string& input) const {
        if (shut_down_) std::rethrow_exception(aborted("muster::process_pool: shut down"));
        if (function.empty() || function.size() > 0xffff) {
            throw std::invalid_argument(
                "muster::process_pool: a function name is 1 to 65535 bytes");
        }
        if (self_executable_ && !is_work_registered(function)) {
            throw std::invalid_argument("muster::process_pool: no work function named '" +
                                        function + "' is registered in this program");
        }
        if (input.size() > opts_.max_frame_bytes) {
            throw std::length_error("muster::process_pool: the input of '" + function + "' is " +
                                    std::to_string(input.size()) +
                                    " bytes, over max_frame_bytes (" +
                                    std::to_string(opts_.max_frame_bytes) + ")");
        }
    }

    template <class Handler>
    void submit(std::shared_ptr<pool_task> t, Handler&& handler, const asio::any_io_executor& io) {
        t->work = asio::prefer(asio::any_io_executor(asio::get_associated_executor(handler, io)),
                               asio::execution::outstanding_work.tracked);
        t->slot = asio::get_associated_cancellation_slot(handler);
        t->handler.hold(std::forward<Handler>(handler));
        t->id = next_id_++;
        if (next_id_ == 0) next_id_ = 1;
        if (t->slot.is_connected()) {
            t->slot.template emplace<cancel_hook>(weak_from_this(), std::weak_ptr<pool_task>(t));
        }
        if (shut_down_) {
            finish(t, aborted("muster::process_pool: shut down"), {});
            return;
        }
        if (t->deadline != clock::time_point::max()) arm_task_timer(t, t->deadline, false);
        queue_.push_back(t);
        ensure_workers();
        dispatch();
    }

    template <class Handler>
    void submit_start(Handler&& handler, const asio::any_io_executor& io) {
        auto work = asio::prefer(asio::any_io_executor(asio::get_associated_executor(handler, io)),
                                 asio::execution::outstanding_work.tracked);
        start_waiters_.push_back({std::move(work), asio::any_completion_handler<start_signature>(
                                                       std::forward<Handler>(handler))});
        if (shut_down_) {
            complete_start_waiters(aborted("muster::process_pool: shut down"));
            return;
        }
        ensure_workers();
        check_started();
    }

    void shutdown() {
        if (shut_down_) return;
        shut_down_ = true;
        auto workers = std::move(workers_);
        workers_.clear();
        for (auto& w : workers) {
            kill(*w, pool_worker::end_reason::shutdown, {});
            if (!w->exited) {
                int status = 0;
                while (::waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
                }
                w->exited = true;
            }
            w->retired = true;
            close_worker(*w);
            if (auto t = std::move(w->current)) {
                finish(t, aborted("muster::process_pool: shut down while the task ran"), {});
            }
        }
        auto queue = std::move(queue_);
        queue_.clear();
        for (auto& t : queue) finish(t, aborted("muster::process_pool: shut down"), {});
        complete_start_waiters(aborted("muster::process_pool: shut down"));
    }

  private:
    struct cancel_hook {
        cancel_hook(std::weak_ptr<process_pool_impl> p, std::weak_ptr<pool_task> t)
            : pool(std::move(p)), task(std::move(t)) {}
        std::weak_ptr<process_pool_impl> pool;
        std::weak_ptr<pool_task> task;
        void operator()(asio::cancellation_type_t type) const {
            using asio::cancellation_type;
            if ((type & (cancellation_type::terminal | cancellation_type::partial |
                         cancellation_type::total)) == cancellation_type::none) {
                return;
            }
            auto p = pool.lock();
            auto t = task.lock();
            if (p && t) p->cancel(t);
        }
    };

    struct start_waiter {
        asio::any_io_executor work;
        asio::any_completion_handler<start_signature> handler;
    };

    // ---- tasks ------------------------------------------------------------

    void cancel(const std::shared_ptr<pool_task>& t) {
        switch (t->state) {
            case pool_task::phase::queued:
                remove_queued(t);
                finish(t, aborted("muster::process_pool: cancelled"), {});
                return;
            case pool_task::phase::running:
                for (auto& w : workers_) {
                    if (w->current == t) kill(*w, pool_worker::end_reason::cancelled, {});
                }
                return;
            case pool_task::phase::finished:
                return;
        }
    }

    void arm_task_timer(const std::shared_ptr<pool_task>& t, clock::time_point when, bool own) {
        t->own_timeout = own;
        const unsigned gen = ++t->timer_generation;
        t->timer.expires_at(when);
        t->timer.async_wait([self = shared_from_this(), t, gen](boost::system::error_code ec) {
            if (ec || t->timer_generation != gen) return;
            self->task_timer_fired(t);
        });
    }

    void task_timer_fired(const std::shared_ptr<pool_task>& t) {
        if (t->state == pool_task::phase::queued) {
            remove_queued(t);
            auto e = std::make_exception_ptr(
                timeout_error("muster::process_pool: the deadline passed while " + t->function +
                              " waited for a worker"));
            finish(t, std::move(e), {});
        } else if (t->state == pool_task::phase::running) {
            for (auto& w : workers_) {
                if (w->current == t) kill(*w, pool_worker::end_reason::timeout, {});
            }
        }
    }

    void remove_queued(const std::shared_ptr<pool_task>& t) {
        auto it = std::find(queue_.begin(), queue_.end(), t);
        if (it != queue_.end()) queue_.erase(it);
    }

    /// Decides how `t` ends, once; the completion runs on the task's own
    /// executor, never inline.
    void finish(const std::shared_ptr<pool_task>& t, std::exception_ptr e, std::string value) {
        if (t->state == pool_task::phase::finished) return;
        t->state = pool_task::phase::finished;
        ++t->timer_generation;
        t->timer.cancel();
        auto work = std::move(t->work);
        asio::post(work, [t, e = std::move(e), value = std::move(value), work]() mutable {
            t->slot.clear();
            auto handler = t->handler.take();
            std::move(handler)(std::move(e), std::move(value));
        });
    }

    void dispatch() {
        while (!queue_.empty()) {
            auto it = std::find_if(workers_.begin(), workers_.end(), [](const auto& w) {
                return w->state == pool_worker::phase::idle;
            });
            if (it == workers_.end()) return;
            auto w = *it;
            if (!usable(w)) {
                ensure_workers();
                continue;
            }
            auto t = std::move(queue_.front());
            queue_.pop_front();
            assign(w, t);
        }
    }

    /// Whether idle `w` can take a task. Nothing watches an idle worker, so
    /// this is where its death is noticed: one that exited, or whose channel
    /// has anything to say (an end, or a frame nobody asked for), is killed,
    /// reaped and dropped, and the caller starts a replacement.
    bool usable(const std::shared_ptr<pool_worker>& w) {
        if (!has_ended(w->pid)) {
            pollfd p{w->socket.native_handle(), POLLIN | POLLRDHUP, 0};
            if (::poll(&p, 1, 0) == 0) return true;
        }
        ::kill(-w->pid, SIGKILL);
        ::kill(w->pid, SIGKILL);
        int status = 0;
        while (::waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
        }
        w->exited = true;
        w->state = pool_worker::phase::dying;
        w->retired = true;
        close_worker(*w);
        auto it = std::find(workers_.begin(), workers_.end(), w);
        if (it != workers_.end()) workers_.erase(it);
        return false;
    }

    /// `w` just became idle: stop watching it, so it holds no work.
    void park(const std::shared_ptr<pool_worker>& w) {
        if (w->watch_generation != 0) {
            w->watch_generation = 0;
            boost::system::error_code ignored;
            w->pidfd.cancel(ignored);
        }
    }

    void assign(const std::shared_ptr<pool_worker>& w, const std::shared_ptr<pool_task>& t) {
        w->state = pool_worker::phase::busy;
        w->current = t;
        t->state = pool_task::phase::running;
        t->tag = tags_();
        if (opts_.task_timeout) {
            const auto own = clock::now() + *opts_.task_timeout;
            if (own < t->deadline) arm_task_timer(t, own, true);
        }
        // Watch it again while it works: its death or its answer ends the task.
        if (!w->reading) read_header(w);
        if (w->watch_generation == 0) watch_exit(w);
        w->out_header = proto::make_header(proto::frame_kind::request, t->id, t->function.size(),
                                           t->input.size(), t->tag);
        std::array<asio::const_buffer, 3> frame{asio::buffer(&w->out_header, sizeof w->out_header),
                                                asio::buffer(t->function), asio::buffer(t->input)};
        // A failed write shows up as the channel's end or the worker's exit,
        // which the read loop and the pidfd already watch.
        asio::async_write(w->socket, frame,
                          [w, t](boost::system::error_code, std::size_t) { (void)w; });
    }

    // ---- workers ----------------------------------------------------------

    void ensure_workers() {
        while (!shut_down_ && workers_.size() < size_) {
            if (!spawn()) return;
        }
    }

    /// Starts one worker. On failure reports it as a start failure and
    /// returns false.
    bool spawn() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            start_failed("muster::process_pool: socketpair failed: " +
                         std::string(std::strerror(errno)));
            return false;
        }
        const int parent_fd = fds[0];
        const int child_fd = move_high(fds[1]);

        std::vector<std::string> args{executable_,
                                      std::string(proto::worker_flag),
                                      std::to_string(::getpid()),
                                      std::to_string(opts_.memory_limit),
                                      std::to_string(opts_.cpu_time_limit.count()),
                                      std::to_string(opts_.open_files_limit),
                                      std::to_string(opts_.max_frame_bytes)};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env_storage;
        const std::string marker = std::string(proto::worker_variable) + "=1";
        for (char** e = environ; e && *e; ++e) {
            if (std::string_view(*e).starts_with(std::string(proto::worker_variable) + "="))
                continue;
            env_storage.emplace_back(*e);
        }
        env_storage.push_back(marker);
        std::vector<char*> envp;
        for (auto& e : env_storage) envp.push_back(e.data());
        envp.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, child_fd, proto::worker_fd);
        // Nothing else of the parent's (its sockets, its files) reaches a
        // worker, whether or not it was opened close-on-exec.
        posix_spawn_file_actions_addclosefrom_np(&actions, proto::worker_fd + 1);
        sigset_t all;
        sigset_t none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(
            &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        pid_t pid = 0;
        const int rc =
            ::posix_spawn(&pid, executable_.c_str(), &actions, &attr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(child_fd);
        if (rc != 0) {
            ::close(parent_fd);
            start_failed("muster::process_pool: cannot start worker " + executable_ + ": " +
                         std::strerror(rc));
            return false;
        }
        const int pidfd = open_pidfd(pid);
        if (pidfd < 0) {
            const int err = errno;
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
            ::close(parent_fd);
            start_failed(
                "muster::process_pool: pidfd_open failed (Linux 5.3 or later is needed): " +
                std::string(std::strerror(err)));
            return false;
        }

        auto w = std::make_shared<pool_worker>(ex_);
        w->pid = pid;
        w->socket.assign(asio::local::stream_protocol(), parent_fd);
        w->pidfd.assign(pidfd);
        workers_.push_back(w);
        ++spawned_;
        arm_worker_timer(w, opts_.start_timeout);
        watch_exit(w);
        read_header(w);
        return true;
    }

    void arm_worker_timer(const std::shared_ptr<pool_worker>& w, clock::duration d) {
        const unsigned gen = ++w->timer_generation;
        w->timer.expires_after(d);
        w->timer.async_wait([self = shared_from_this(), w, gen](boost::system::error_code ec) {
            if (ec || w->timer_generation != gen || w->retired) return;
            self->worker_timer_fired(w);
        });
    }

    void worker_timer_fired(const std::shared_ptr<pool_worker>& w) {
        if (w->state == pool_worker::phase::starting) {
            kill(*w, pool_worker::end_reason::silent,
                 "did not report ready within the start timeout");
        } else if (w->channel_closed && !w->exited) {
            // Its channel ended but the process lives on: it is no use.
            kill(*w, pool_worker::end_reason::garbage, "closed its channel");
        } else if (w->exited && !w->channel_closed) {
            // Dead, but something it left (a grandchild outside its
            // process group) holds the channel open: stop reading.
            boost::system::error_code ignored;
            w->socket.close(ignored);
        }
    }

    void watch_exit(const std::shared_ptr<pool_worker>& w) {
        if (++watch_generations_ == 0) ++watch_generations_;
        const unsigned gen = watch_generations_;
        w->watch_generation = gen;
        w->pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                            [self = shared_from_this(), w, gen](boost::system::error_code ec) {
                                // A watch parked meanwhile (or replaced) no longer counts.
                                if (w->retired || w->watch_generation != gen) return;
                                w->watch_generation = 0;
                                if (ec) return;  // closed by shutdown
                                self->exited(w);
                            });
    }

    void exited(const std::shared_ptr<pool_worker>& w) {
        // The pidfd's readiness is only a hint: Asio can hand a readiness
        // event of a closed descriptor (an idle worker that died and was
        // dropped) to the new one that reuses its slot. Killing the group of
        // a live worker on such an event would kill a healthy worker.
        if (!has_ended(w->pid)) {
            watch_exit(w);
            return;
        }
        // Whatever it started in its process group goes with it; killed
        // before the reap, while the group's id cannot have been reused.
        ::kill(-w->pid, SIGKILL);
        int status = 0;
        pid_t r = 0;
        while ((r = ::waitpid(w->pid, &status, WNOHANG)) < 0 && errno == EINTR) {
        }
        if (r == 0) {  // not yet reapable: look again
            watch_exit(w);
            return;
        }
        w->exited = true;
        w->wait_status_known = r == w->pid;
        w->wait_status = status;
        if (w->state != pool_worker::phase::dying) w->state = pool_worker::phase::dying;
        if (w->channel_closed) {
            retire(w);
        } else {
            arm_worker_timer(w, std::chrono::milliseconds(200));
        }
    }

    void kill(pool_worker& w, pool_worker::end_reason reason, std::string detail) {
        if (w.reason == pool_worker::end_reason::none) {
            w.reason = reason;
            w.reason_detail = std::move(detail);
        }
        w.state = pool_worker::phase::dying;
        if (!w.exited) {
            ::kill(-w.pid, SIGKILL);
            ::kill(w.pid, SIGKILL);
        }
    }

    void close_worker(pool_worker& w) {
        boost::system::error_code ignored;
        w.socket.close(ignored);
        w.pidfd.close(ignored);
        w.timer.cancel();
    }

    // ---- the read loop ------------------------------------------------------

    void read_header(const std::shared_ptr<pool_worker>& w) {
        w->reading = true;
        asio::async_read(w->socket, asio::buffer(&w->in_header, sizeof w->in_header),
                         [self = shared_from_this(), w](boost::system::error_code ec, std::size_t) {
                             w->reading = false;
                             if (w->retired) return;
                             if (ec) return self->channel_ended(w);
                             self->header_read(w);
                         });
    }

    void header_read(const std::shared_ptr<pool_worker>& w) {
        const auto& h = w->in_header;
        if (w->state != pool_worker::phase::busy) {
            auto why = proto::check_header(h, opts_.max_frame_bytes);
            if (!why.empty()) return garbage(w, std::string(why));
        }
        const auto kind = static_cast<proto::frame_kind>(h.kind);
        switch (w->state) {
            case pool_worker::phase::starting:
                if (kind != proto::frame_kind::hello) return garbage(w, "a frame before its hello");
                break;
            case pool_worker::phase::busy: {
                // Whatever arrives before the answer was written while the
                // task ran (by its work function, or by something it left
                // running): the task fails and the worker, whose stream can
                // no longer be trusted, is replaced.
                const auto& t = *w->current;
                auto why = proto::check_answer(h, t.id, t.tag, opts_.max_frame_bytes);
                if (!why.empty()) return garbage(w, std::string(why));
                break;
            }
            case pool_worker::phase::idle:
                return garbage(w, "a frame nobody asked for");
            case pool_worker::phase::dying:
                break;  // read on to the end; whatever comes no longer counts
        }
        w->body.resize(std::size_t{h.name_length} + h.payload_length);
        w->reading = true;
        asio::async_read(w->socket, asio::buffer(w->body),
                         [self = shared_from_this(), w](boost::system::error_code ec, std::size_t) {
                             w->reading = false;
                             if (w->retired) return;
                             if (ec) return self->channel_ended(w);
                             self->body_read(w);
                         });
    }

    void body_read(const std::shared_ptr<pool_worker>& w) {
        const auto& h = w->in_header;
        const auto kind = static_cast<proto::frame_kind>(h.kind);
        if (w->state == pool_worker::phase::starting) {
            w->state = pool_worker::phase::idle;
            w->ready_once = true;
            ++w->timer_generation;
            w->timer.cancel();
            check_started();
            dispatch();
        } else if (w->state == pool_worker::phase::busy) {
            auto t = std::move(w->current);
            w->current.reset();
            w->state = pool_worker::phase::idle;
            if (kind == proto::frame_kind::result) {
                finish(t, nullptr, w->body.substr(h.name_length));
            } else {
                auto e = std::make_exception_ptr(work_error(
                    t->function, w->body.substr(0, h.name_length), w->body.substr(h.name_length)));
                finish(t, std::move(e), {});
            }
            dispatch();
        }
        std::string().swap(w->body);
        if (w->state == pool_worker::phase::idle) {
            park(w);
        } else if (!w->reading) {
            read_header(w);
        }
    }

    void garbage(const std::shared_ptr<pool_worker>& w, std::string what) {
        kill(*w, pool_worker::end_reason::garbage, "sent " + what);
        // Stop reading: nothing it sends can be trusted any more.
        boost::system::error_code ignored;
        w->socket.close(ignored);
        channel_ended(w);
    }

    void channel_ended(const std::shared_ptr<pool_worker>& w) {
        if (w->channel_closed) return;
        w->channel_closed = true;
        if (w->exited) {
            retire(w);
        } else {
            if (w->state != pool_worker::phase::dying) w->state = pool_worker::phase::dying;
            // Usually it is dying (a crash closes the channel first); give it
            // a moment so its real cause of death is what gets reported.
            arm_worker_timer(w, std::chrono::milliseconds(200));
        }
    }

    // ---- a worker's end ---------------------------------------------------

    std::string cause_of_death(const pool_worker& w) const {
        if (w.reason == pool_worker::end_reason::garbage ||
            w.reason == pool_worker::end_reason::silent) {
            return w.reason_detail + " and was killed";
        }
        if (!w.wait_status_known) return "ended (its exit status was collected elsewhere)";
        const int s = w.wait_status;
        if (WIFSIGNALED(s)) {
            const int sig = WTERMSIG(s);
            std::string text = "killed by " + signal_name(sig);
            if (sig == SIGXCPU && opts_.cpu_time_limit.count() > 0) {
                text += " (over its CPU time limit of " +
                        std::to_string(opts_.cpu_time_limit.count()) + " s)";
            }
            return text;
        }
        if (WIFEXITED(s)) {
            const int code = WEXITSTATUS(s);
            if (code == proto::memory_limit_exit_code && opts_.memory_limit > 0) {
                return "exceeded its memory limit of " + mebibytes(opts_.memory_limit);
            }
            return "exited with code " + std::to_string(code);
        }
        return "ended with wait status " + std::to_string(s);
    }

    void retire(const std::shared_ptr<pool_worker>& w) {
        if (w->retired) return;
        w->retired = true;
        close_worker(*w);
        auto it = std::find(workers_.begin(), workers_.end(), w);
        if (it != workers_.end()) workers_.erase(it);

        if (auto t = std::move(w->current)) {
            finish(t, task_error_for(*w, *t), {});
        } else if (!w->ready_once) {
            start_failed("muster::process_pool: worker " + executable_ + " " + cause_of_death(*w) +
                         " before it was ready; does its main() call "
                         "muster::process_pool::worker_main_if_requested(argc, argv) first?");
            return;
        }
        if (shut_down_) return;
        ensure_workers();
        dispatch();
    }

    std::exception_ptr task_error_for(const pool_worker& w, const pool_task& t) const {
        switch (w.reason) {
            case pool_worker::end_reason::timeout: {
                std::string what = "muster::process_pool: " + t.function + " ran past its " +
                                   (t.own_timeout ? "task timeout" : "deadline") +
                                   "; its worker was killed";
                return std::make_exception_ptr(timeout_error(what));
            }
            case pool_worker::end_reason::cancelled:
            case pool_worker::end_reason::shutdown:
                return aborted("muster::process_pool: cancelled; the worker was killed");
            default:
                break;
        }
        const bool signalled = w.wait_status_known && WIFSIGNALED(w.wait_status);
        const int sig = signalled ? WTERMSIG(w.wait_status) : 0;
        const int code =
            w.wait_status_known && WIFEXITED(w.wait_status) ? WEXITSTATUS(w.wait_status) : -1;
        std::string what =
            "muster::process_pool: worker " + cause_of_death(w) + " while running " + t.function;
        return std::make_exception_ptr(worker_crashed(t.function, sig, code, what));
    }

    /// A worker could not be started or never became ready. The pool does
    /// not retry by itself (a program that is no worker would be started
    /// forever); the next `run` tries again.
    void start_failed(std::string what) {
        const bool any_ready = std::any_of(workers_.begin(), workers_.end(), [](const auto& w) {
            return w->state == pool_worker::phase::idle || w->state == pool_worker::phase::busy;
        });
        const bool any_starting = std::any_of(workers_.begin(), workers_.end(), [](const auto& w) {
            return w->state == pool_worker::phase::starting;
        });
        auto e = std::make_exception_ptr(worker_start_error(what));
        complete_start_waiters(e);
        if (any_ready || any_starting) return;
        auto queue = std::move(queue_);
        queue_.clear();
        for (auto& t : queue) finish(t, e, {});
    }

    void check_started() {
        if (start_waiters_.empty() || workers_.size() < size_) return;
        for (const auto& w : workers_) {
            if (w->state == pool_worker::phase::starting) return;
        }
        complete_start_waiters(nullptr);
    }

    void complete_start_waiters(std::exception_ptr e) {
        auto waiters = std::move(start_waiters_);
        start_waiters_.clear();
        for (auto& sw : waiters) {
            auto work = std::move(sw.work);
            asio::post(work, [h = std::move(sw.handler), e, work]() mutable { std::move(h)(e); });
        }
    }

    asio::any_io_executor ex_;
    process_pool_options opts_;
    bool self_executable_ = true;
    std::string executable_;
    std::size_t size_ = 0;
    std::size_t spawned_ = 0;
    std::uint32_t next_id_ = 1;
    // Tags of requests: unpredictable to a work function, not a secret.
    std::mt19937_64 tags_{std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32)};
    unsigned watch_generations_ = 0;
    bool shut_down_ = false;
    std::vector<std::shared_ptr<pool_worker>> workers_;
    std::deque<std::shared_ptr<pool_task>> queue_;
    std::vector<start_waiter> start_waiters_;
};

namespace {

struct initiate_run {
    std::shared_ptr<process_pool_impl> pool;
    std::shared_ptr<pool_task> task;
    asio::any_io_executor io;

    template <class Handler>
    void operator()(Handler&& handler) {
        pool->submit(std::move(task), std::forward<Handler>(handler), io);
    }
};

struct initiate_start {
    std::shared_ptr<process_pool_impl> pool;
    asio::any_io_executor io;

    template <class Handler>
    void operator()(Handler&& handler) {
        pool->submit_start(std::forward<Handler>(handler), io);
    }
};

}  // namespace

}  // namespace detail

process_pool::process_pool(boost::asio::any_io_executor ex, process_pool_options options)
    : impl_(std::make_shared<detail::process_pool_impl>(std::move(ex), std::move(options))) {}

process_pool::~process_pool() { shutdown(); }

void process_pool::shutdown() { impl_->shutdown(); }

std::size_t process_pool::size() const noexcept { return impl_->size(); }

std::vector<int> process_pool::worker_pids() const { return impl_->worker_pids(); }

std::size_t process_pool::workers_started() const noexcept { return impl_->spawned(); }

boost::asio::awaitable<std::string> process_pool::run(std::string function, std::string input) {
    namespace asio = boost::asio;
    auto pool = impl_;
    pool->check_request(function, input);
    asio::any_io_executor io = co_await asio::this_coro::executor;
    auto task = std::make_shared<detail::pool_task>(pool->executor(), std::move(function),
                                                    std::move(input));
    task->deadline = muster::deadline_of(io);
    // Named, not a temporary in the co_await expression (GCC 12).
    detail::initiate_run init{std::move(pool), std::move(task), std::move(io)};
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                            detail::result_signature>(std::move(init),
                                                                      asio::use_awaitable);
}

boost::asio::awaitable<void> process_pool::start() {
    namespace asio = boost::asio;
    asio::any_io_executor io = co_await asio::this_coro::executor;
    detail::initiate_start init{impl_, std::move(io)};
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, detail::start_signature>(
        std::move(init), asio::use_awaitable);
}

}  // namespace muster
