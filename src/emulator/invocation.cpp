// The invocations' state machine: queued until a /next poll takes them,
// running, receiving a posted answer, responded, ended with END and REPORT;
// the timeout, init errors and what the caller of `invoke` gets.

#include "emulator_state.hpp"

#include "base64.hpp"

#include <signal.h>

namespace muster::emulator {
namespace detail {

namespace {

std::string base64_decode(std::string_view in) { return detail::decode_base64(in); }

}  // namespace

invoke_result emulator_state::rejected_result(std::string type, std::string message) {
    invoke_result result;
    result.status = invoke_status::rejected;
    result.error_type = type;
    result.payload = error_document(type, message);
    return result;
}

std::size_t emulator_state::in_flight() const {
    std::size_t n = 0;
    for (const auto& [id, inv] : active_) {
        if (inv->state != invocation::phase::queued && inv->state != invocation::phase::ended) {
            ++n;
        }
    }
    return n;
}

void emulator_state::complete(const std::shared_ptr<invocation>& inv, invoke_result result) {
    if (inv->done) {
        return;
    }
    result.request_id = inv->id;
    inv->result = std::move(result);
    inv->done = true;
    inv->done_signal.cancel();
}

void emulator_state::fail(const std::shared_ptr<invocation>& inv, std::string type,
                          std::string message) {
    invoke_result result;
    result.status = invoke_status::function_error;
    result.error_type = type;
    result.payload = error_document(type, message);
    if (inv->state != invocation::phase::queued) {
        result.duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
    }
    complete(inv, std::move(result));
}

void emulator_state::accept_post(const std::shared_ptr<invocation>& inv, bool is_error,
                                 bool streaming, bool forwarded, std::string body,
                                 const std::string& header_error_type, const http::fields& fields) {
    invoke_result result;
    result.streamed = streaming;
    result.duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
    if (is_error) {
        result.status = invoke_status::function_error;
        std::string type = header_error_type;
        if (type.empty()) {
            type = error_type_of(body);
        }
        if (type.empty()) {
            type = "Unhandled";
        }
        result.error_type = type;
        if (json_problem(body)) {
            body = error_document(type, body);
        }
        result.payload = std::move(body);
    } else {
        result.status = invoke_status::ok;
        result.payload = std::move(body);
        if (streaming) {
            // Errors met mid-stream arrive as trailers.
            auto type = fields.find("Lambda-Runtime-Function-Error-Type");
            if (type != fields.end()) {
                result.status = invoke_status::function_error;
                result.error_type = std::string(type->value());
                std::string error_body;
                if (auto encoded = fields.find("Lambda-Runtime-Function-Error-Body");
                    encoded != fields.end()) {
                    error_body = base64_decode(encoded->value());
                }
                if (error_body.empty() || json_problem(error_body)) {
                    error_body = error_document(result.error_type, error_body);
                }
                log("RequestId: " + inv->id + " Error: the streamed response ended with " +
                    result.error_type);
                // What was streamed before the error has reached the
                // caller (forwarded) or is dropped: the answer is the error.
                (void)forwarded;
                result.payload = std::move(error_body);
            }
        }
    }
    complete(inv, std::move(result));
    inv->state = invocation::phase::responded;
}

// After a response or error was accepted: with several invocations at
// once the invocation ends here; with one it ends at the next /next.
void emulator_state::after_post(const std::shared_ptr<invocation>& inv) {
    if (config_.concurrency > 1) {
        end_invocation(inv, {});
        dispatch();
    }
}

void emulator_state::return_to_running(const std::shared_ptr<invocation>& inv) {
    if (inv->state == invocation::phase::receiving) {
        inv->state = invocation::phase::running;
    }
}

void emulator_state::end_invocation(const std::shared_ptr<invocation>& inv,
                                    std::string_view status) {
    if (inv->state == invocation::phase::ended) {
        return;
    }
    inv->state = invocation::phase::ended;
    inv->deadline_timer.cancel();
    auto duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
    // A scan of the process tree costs tens of microseconds (more with
    // many threads), so back-to-back short invocations share one taken
    // at most 20 ms ago. VmHWM only grows, so a skipped scan can only
    // miss a peak reached in those 20 ms; the next REPORT has it.
    if (auto now = steady::now(); now - last_rss_scan_ >= milliseconds(20)) {
        last_rss_scan_ = now;
        peak_rss_kib_ = std::max(peak_rss_kib_, child_.tree_peak_rss_kib());
    }
    std::size_t used_mb = (peak_rss_kib_ + 1023) / 1024;
    auto billed = duration;
    std::string report = "REPORT RequestId: " + inv->id + "\tDuration: " + format_ms(duration) +
                         " ms\tBilled Duration: ";
    std::string init_part;
    if (inv->generation == generation_ && init_to_report_) {
        init_to_report_ = false;
        init_part = "\tInit Duration: " + format_ms(init_duration_) + " ms";
        billed += init_duration_;  // custom runtimes bill their init
    }
    report += std::to_string((billed.count() + 999) / 1000) +
              " ms\tMemory Size: " + std::to_string(config_.memory_mb) +
              " MB\tMax Memory Used: " + std::to_string(used_mb) + " MB" + init_part;
    if (!status.empty()) {
        report += "\tStatus: " + std::string(status);
    }
    log("END RequestId: " + inv->id);
    log(report);
    active_.erase(inv->id);
    if (active_.empty()) {
        idle_signal_.cancel();
    }
}

void emulator_state::on_next_poll(const std::shared_ptr<next_waiter>& waiter) {
    if (phase_ == runtime_phase::initializing) {
        phase_ = runtime_phase::ready;
        init_timer_.cancel();
        init_duration_ = duration_cast<microseconds>(steady::now() - spawned_at_);
        init_to_report_ = true;
        last_rss_scan_ = steady::now();
        peak_rss_kib_ = child_.tree_peak_rss_kib();
    }
    if (config_.concurrency == 1) {
        // The runtime asks for more: the previous invocation is over.
        std::vector<std::shared_ptr<invocation>> finished;
        for (auto& [id, inv] : active_) {
            if (inv->state == invocation::phase::responded) {
                finished.push_back(inv);
            }
        }
        for (auto& inv : finished) {
            end_invocation(inv, {});
        }
    }
    waiters_.push_back(waiter);
    dispatch();
}

void emulator_state::dispatch() {
    if (phase_ != runtime_phase::ready) {
        return;
    }
    while (!queue_.empty() && !waiters_.empty() && in_flight() < config_.concurrency) {
        if (frozen_) {
            child_.signal_group(SIGCONT);
            frozen_ = false;
        }
        auto inv = queue_.front();
        queue_.pop_front();
        auto waiter = waiters_.front();
        waiters_.pop_front();
        deliver(inv, waiter);
    }
    if (config_.concurrency == 1 && config_.freeze && !frozen_ && queue_.empty() &&
        !waiters_.empty() && in_flight() == 0) {
        // Idle and waiting on /next: freeze it, as Lambda does, so work
        // left running shows up only inside a later invocation.
        child_.signal_group(SIGSTOP);
        frozen_ = true;
    }
}

void emulator_state::deliver(const std::shared_ptr<invocation>& inv,
                             const std::shared_ptr<next_waiter>& waiter) {
    inv->state = invocation::phase::running;
    inv->delivered_at = steady::now();
    inv->generation = generation_;
    inv->trace_id = ids_.trace_id();
    log("START RequestId: " + inv->id + " Version: " + config_.function_version);
    inv->deadline_timer.expires_after(config_.timeout);
    std::weak_ptr<emulator_state> weak = shared_from_this();
    inv->deadline_timer.async_wait([weak, inv](beast::error_code ec) {
        auto self = weak.lock();
        if (!ec && self) {
            self->on_timeout(inv);
        }
    });
    waiter->assigned = inv;
    waiter->woken = true;
    waiter->signal.cancel();
}

void emulator_state::requeue(const std::shared_ptr<invocation>& inv) {
    if (inv->state != invocation::phase::running) {
        return;
    }
    inv->deadline_timer.cancel();
    inv->state = invocation::phase::queued;
    queue_.push_front(inv);
    dispatch();
}

void emulator_state::on_timeout(const std::shared_ptr<invocation>& inv) {
    if (inv->state == invocation::phase::ended || inv->state == invocation::phase::queued) {
        return;
    }
    std::string message = "RequestId: " + inv->id + " Error: Task timed out after " +
                          seconds_text(config_.timeout) + " seconds";
    log(message);
    fail(inv, "Sandbox.Timedout", message);
    end_invocation(inv, "timeout");
    kill_runtime();
}

void emulator_state::on_init_error(std::string body, std::string type) {
    if (type.empty()) {
        type = error_type_of(body);
    }
    if (type.empty()) {
        type = "Runtime.Unknown";
    }
    if (json_problem(body)) {
        body = error_document(type, body);
    }
    auto duration = duration_cast<microseconds>(steady::now() - spawned_at_);
    log("INIT_REPORT Init Duration: " + format_ms(duration) +
        " ms\tPhase: init\tStatus: error\tError Type: " + type);
    for (auto& inv : take_queue()) {
        invoke_result result;
        result.status = invoke_status::function_error;
        result.error_type = type;
        result.payload = body;
        complete(inv, std::move(result));
        active_.erase(inv->id);
    }
    kill_runtime();
}

std::deque<std::shared_ptr<invocation>> emulator_state::take_queue() {
    std::deque<std::shared_ptr<invocation>> taken;
    taken.swap(queue_);
    return taken;
}

void emulator_state::reject_queued(const std::string& why) {
    for (auto& inv : take_queue()) {
        complete(inv, rejected_result("ServiceException", why));
        active_.erase(inv->id);
    }
    if (active_.empty()) {
        idle_signal_.cancel();
    }
}

void emulator_state::abandon_waiters() {
    for (auto& waiter : waiters_) {
        waiter->woken = true;
        waiter->signal.cancel();
    }
    waiters_.clear();
}

net::awaitable<invoke_result> emulator_state::invoke(std::shared_ptr<emulator_state> self,
                                                     invoke_request request) {
    if (self->shutting_down_) {
        co_return self->rejected_result("ServiceException", "the emulator is shutting down");
    }
    if (request.payload.empty()) {
        request.payload = "{}";
    }
    if (request.payload.size() > self->config_.max_request_bytes) {
        co_return self->rejected_result("RequestEntityTooLargeException",
                                        "Request must be smaller than " +
                                            std::to_string(self->config_.max_request_bytes) +
                                            " bytes for the InvokeFunction operation");
    }
    if (auto problem = json_problem(request.payload)) {
        co_return self->rejected_result("InvalidRequestContentException",
                                        "Could not parse request body into json: " + *problem);
    }
    auto inv = std::make_shared<invocation>(self->executor_);
    inv->id = self->ids_.request_id();
    inv->payload = std::move(request.payload);
    inv->client_context = std::move(request.client_context);
    inv->on_chunk = std::move(request.on_stream_chunk);
    inv->on_stream_start = std::move(request.on_stream_start);
    self->active_[inv->id] = inv;
    self->queue_.push_back(inv);
    self->ensure_runtime();
    self->dispatch();
    while (!inv->done) {
        inv->done_signal.expires_at(steady::time_point::max());
        co_await inv->done_signal.async_wait(use_tuple);
    }
    co_return inv->result;
}

}  // namespace detail
}  // namespace muster::emulator
