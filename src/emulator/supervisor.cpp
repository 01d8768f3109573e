// Supervision of the bootstrap process: its environment, starting it when
// work arrives, the init timeout, noticing its exit (and restarting it),
// killing it, and the graceful shutdown.

#include "emulator_state.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace muster::emulator {
namespace detail {

std::vector<std::string> emulator_state::environment() const {
    std::vector<std::pair<std::string, std::string>> vars;
    if (const char* path = std::getenv("PATH")) {
        vars.emplace_back("PATH", path);
    }
    // Lambda's search path, with the task root for /var/task and
    // /var/runtime (LAMBDA_RUNTIME_DIR); never the caller's, so a library
    // found only through it fails here as it would on Lambda.
    const std::string root = task_root_.string();
    vars.emplace_back("LD_LIBRARY_PATH",
                      "/lib64:/usr/lib64:" + root + ":" + root + "/lib:/opt/lib");
    auto set = [&vars](std::string key, std::string value) {
        for (auto& [k, v] : vars) {
            if (k == key) {
                v = std::move(value);
                return;
            }
        }
        vars.emplace_back(std::move(key), std::move(value));
    };
    set("LANG", "en_US.UTF-8");
    set("TZ", ":UTC");
    set("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + std::to_string(port_));
    set("_HANDLER", config_.handler);
    set("LAMBDA_TASK_ROOT", task_root_.string());
    set("LAMBDA_RUNTIME_DIR", task_root_.string());
    set("AWS_LAMBDA_FUNCTION_NAME", config_.function_name);
    set("AWS_LAMBDA_FUNCTION_VERSION", config_.function_version);
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(config_.memory_mb));
    set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + config_.function_name);
    set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_);
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    set("AWS_REGION", config_.region);
    set("AWS_DEFAULT_REGION", config_.region);
    if (config_.concurrency > 1) {
        set("AWS_LAMBDA_MAX_CONCURRENCY", std::to_string(config_.concurrency));
    }
    for (const auto& [k, v] : config_.environment) {
        set(k, v);
    }
    std::vector<std::string> out;
    out.reserve(vars.size());
    for (auto& [k, v] : vars) {
        out.push_back(k + "=" + v);
    }
    return out;
}

std::filesystem::path emulator_state::resolve_task_root() const {
    if (!config_.task_root.empty()) {
        return std::filesystem::absolute(config_.task_root);
    }
    const std::string& bootstrap = config_.command.front();
    if (bootstrap.find('/') != std::string::npos) {
        return std::filesystem::absolute(bootstrap).parent_path();
    }
    return std::filesystem::current_path();
}

void emulator_state::ensure_runtime() {
    if (phase_ != runtime_phase::stopped || queue_.empty() || shutting_down_) {
        return;
    }
    spawn_spec spec;
    spec.argv = config_.command;
    std::error_code ec;
    if (config_.command.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
    } else {
        task_root_ = resolve_task_root();
        // A relative bootstrap path is relative to where muster runs,
        // not to the task root the child starts in.
        if (spec.argv[0].find('/') != std::string::npos) {
            spec.argv[0] = std::filesystem::absolute(spec.argv[0]).string();
        }
        spec.environment = environment();
        spec.working_directory = task_root_;
        spec.output_fd = config_.function_output_fd;
        child_ = child_process::spawn(spec, ec);
    }
    if (ec) {
        std::string what =
            config_.command.empty()
                ? std::string("no bootstrap given")
                : "cannot start the bootstrap " + config_.command.front() + ": " + ec.message();
        log("INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: error\tError Type: "
            "Runtime.InvalidEntrypoint");
        log("muster: " + what);
        for (auto& inv : take_queue()) {
            fail(inv, "Runtime.InvalidEntrypoint", "RequestId: " + inv->id + " Error: " + what);
            active_.erase(inv->id);
        }
        return;
    }
    ++generation_;
    peak_rss_kib_ = 0;  // a new process is a new execution environment
    phase_ = runtime_phase::initializing;
    frozen_ = false;
    killed_ = false;
    spawned_at_ = steady::now();
    log("INIT_START Runtime Version: provided (muster emulator)\tPid: " +
        std::to_string(child_.pid()));
    watch_exit();
    init_timer_.expires_after(config_.init_timeout);
    std::weak_ptr<emulator_state> weak = shared_from_this();
    std::uint64_t generation = generation_;
    init_timer_.async_wait([weak, generation](beast::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && self->generation_ == generation &&
            self->phase_ == runtime_phase::initializing) {
            self->on_init_timeout();
        }
    });
}

void emulator_state::on_init_timeout() {
    log("INIT_REPORT Init Duration: " +
        format_ms(duration_cast<microseconds>(config_.init_timeout)) +
        " ms\tPhase: init\tStatus: timeout");
    for (auto& inv : take_queue()) {
        fail(inv, "Sandbox.Timedout",
             "RequestId: " + inv->id + " Error: Init timed out after " +
                 seconds_text(config_.init_timeout) + " seconds");
        active_.erase(inv->id);
    }
    kill_runtime();
}

void emulator_state::watch_exit() {
    int fd = ::dup(child_.pidfd());
    if (fd < 0) {
        return;
    }
    pidfd_watch_.emplace(executor_, fd);
    std::weak_ptr<emulator_state> weak = shared_from_this();
    std::uint64_t generation = generation_;
    pidfd_watch_->async_wait(net::posix::stream_descriptor::wait_read,
                             [weak, generation](beast::error_code ec) {
                                 auto self = weak.lock();
                                 if (!ec && self && self->generation_ == generation) {
                                     self->on_exit();
                                 }
                             });
}

void emulator_state::kill_runtime() {
    if (child_.running() && phase_ != runtime_phase::stopped) {
        child_.signal_group(SIGKILL);
        phase_ = runtime_phase::dying;
        killed_ = true;
    }
}

void emulator_state::on_exit() {
    int status = 0;
    if (!child_.try_reap(status)) {
        watch_exit();
        return;
    }
    pidfd_watch_.reset();
    init_timer_.cancel();
    auto was = phase_;
    bool killed = killed_;
    phase_ = runtime_phase::stopped;
    frozen_ = false;
    std::string reason = describe_wait_status(status);
    abandon_waiters();

    if (!killed && !shutting_down_) {
        if (was == runtime_phase::initializing) {
            auto duration = duration_cast<microseconds>(steady::now() - spawned_at_);
            log("INIT_REPORT Init Duration: " + format_ms(duration) +
                " ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError");
            log("muster: the runtime exited during init: " + reason);
            for (auto& inv : take_queue()) {
                fail(inv, "Runtime.ExitError",
                     "RequestId: " + inv->id + " Error: Runtime exited with error: " + reason);
                active_.erase(inv->id);
            }
        }
    }
    std::vector<std::shared_ptr<invocation>> current;
    for (auto& [id, inv] : active_) {
        if (inv->state != invocation::phase::queued) {
            current.push_back(inv);
        }
    }
    for (auto& inv : current) {
        if (inv->state == invocation::phase::responded) {
            end_invocation(inv, {});
            continue;
        }
        std::string message =
            "RequestId: " + inv->id + " Error: Runtime exited with error: " + reason;
        log(message);
        log("Runtime.ExitError");
        fail(inv, "Runtime.ExitError", message);
        end_invocation(inv, "error");
    }
    exit_signal_.cancel();
    if (!shutting_down_) {
        ensure_runtime();
    }
}

net::awaitable<void> emulator_state::shutdown(std::shared_ptr<emulator_state> self) {
    if (self->closed_) {
        co_return;
    }
    self->shutting_down_ = true;
    self->reject_queued("the emulator is shutting down");
    while (!self->active_.empty() && !self->closed_) {
        self->idle_signal_.expires_at(steady::time_point::max());
        co_await self->idle_signal_.async_wait(use_tuple);
    }
    if (self->child_.running() && !self->closed_) {
        if (self->frozen_) {
            self->child_.signal_group(SIGCONT);
            self->frozen_ = false;
        }
        self->child_.signal_group(SIGTERM);
        auto deadline = steady::now() + self->config_.shutdown_grace;
        while (self->child_.running() && !self->closed_ && steady::now() < deadline) {
            self->exit_signal_.expires_at(deadline);
            co_await self->exit_signal_.async_wait(use_tuple);
        }
        if (self->child_.running() && !self->closed_) {
            self->log("muster: the runtime did not stop within " +
                      seconds_text(self->config_.shutdown_grace) + " seconds of SIGTERM; SIGKILL");
            self->kill_runtime();
            while (self->child_.running() && !self->closed_) {
                self->exit_signal_.expires_at(steady::time_point::max());
                co_await self->exit_signal_.async_wait(use_tuple);
            }
        }
    }
    self->close();
}

}  // namespace detail
}  // namespace muster::emulator
