#include "fake_runtime_api.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/http/parser.hpp>

namespace muster_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

fake_runtime_api::fake_runtime_api(std::string prefix)
    : prefix_(std::move(prefix)),
      acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
}

fake_runtime_api::~fake_runtime_api() {
    std::vector<int> fds;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        fds = fds_;
    }
    changed_.notify_all();
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
    accept_thread_.join();
    for (auto& t : connection_threads_) t.join();
}

std::string fake_runtime_api::address() const {
    return "127.0.0.1:" + std::to_string(port_) + prefix_;
}

void fake_runtime_api::enqueue(scripted_invocation inv) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(inv));
    }
    changed_.notify_all();
}

void fake_runtime_api::set_post_status(
    std::function<std::optional<int>(const recorded_request&)> fn) {
    std::lock_guard lock(mutex_);
    post_status_ = std::move(fn);
}

void fake_runtime_api::set_next_status(std::optional<int> status) {
    std::lock_guard lock(mutex_);
    next_status_ = status;
}

void fake_runtime_api::set_close_after_each(bool close) {
    std::lock_guard lock(mutex_);
    close_after_each_ = close;
}

std::vector<recorded_request> fake_runtime_api::wait_for(
    std::size_t n, const std::function<bool(const recorded_request&)>& pred,
    std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::vector<recorded_request> found;
    changed_.wait_for(lock, timeout, [&] {
        found.clear();
        for (const auto& r : requests_)
            if (pred(r)) found.push_back(r);
        return found.size() >= n;
    });
    return found;
}

std::optional<recorded_request> fake_runtime_api::wait_for_answer(
    const std::string& request_id, std::chrono::milliseconds timeout) {
    const std::string base = prefix_ + "/2018-06-01/runtime/invocation/" + request_id + "/";
    auto found = wait_for(
        1,
        [&](const recorded_request& r) {
            return r.method == "POST" && r.target.rfind(base, 0) == 0;
        },
        timeout);
    if (found.empty()) return std::nullopt;
    return found.front();
}

std::vector<recorded_request> fake_runtime_api::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t fake_runtime_api::next_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        requests_.begin(), requests_.end(), [](const auto& r) { return r.method == "GET"; }));
}

std::map<std::string, std::chrono::steady_clock::time_point> fake_runtime_api::dispatched() const {
    std::lock_guard lock(mutex_);
    return dispatched_;
}

void fake_runtime_api::accept_loop() {
    for (;;) {
        auto socket = std::make_shared<tcp::socket>(io_);
        boost::system::error_code ec;
        acceptor_.accept(*socket, ec);
        std::lock_guard lock(mutex_);
        if (ec || stopping_) return;
        fds_.push_back(socket->native_handle());
        connection_threads_.emplace_back([this, socket] { serve(*socket); });
    }
}

void fake_runtime_api::serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    const std::string api = prefix_ + "/2018-06-01/runtime/";
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        boost::system::error_code ec;
        http::read(socket, buffer, parser, ec);
        if (ec) return;
        auto req = parser.release();

        recorded_request rec;
        rec.method = std::string(req.method_string());
        rec.target = std::string(req.target());
        // A header sent more than once (`Trailer` from AWS's Node client) is
        // recorded once, its values joined as HTTP allows.
        for (const auto& f : req) {
            std::string& value = rec.headers[lower(std::string(f.name_string()))];
            if (!value.empty()) value += ", ";
            value += std::string(f.value());
        }
        rec.body = req.body();
        rec.at = std::chrono::steady_clock::now();

        http::response<http::string_body> res;
        res.version(11);
        std::unique_lock lock(mutex_);
        requests_.push_back(rec);
        changed_.notify_all();
        const bool close = close_after_each_ || !req.keep_alive();

        if (rec.method == "GET" && rec.target == api + "invocation/next") {
            if (next_status_) {
                res.result(static_cast<unsigned>(*next_status_));
                res.body() = R"({"errorMessage":"scripted failure"})";
            } else {
                changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;
                scripted_invocation inv = std::move(queue_.front());
                queue_.pop_front();
                dispatched_[inv.request_id] = std::chrono::steady_clock::now();
                res.result(http::status::ok);
                res.set("Lambda-Runtime-Aws-Request-Id", inv.request_id);
                if (inv.deadline) {
                    res.set("Lambda-Runtime-Deadline-Ms",
                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               inv.deadline->time_since_epoch())
                                               .count()));
                } else if (!inv.raw_deadline.empty()) {
                    res.set("Lambda-Runtime-Deadline-Ms", inv.raw_deadline);
                }
                res.set("Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:test");
                for (const auto& [k, v] : inv.headers) res.set(k, v);
                if (inv.content_type) res.set(http::field::content_type, "application/json");
                res.body() = std::move(inv.payload);
            }
        } else if (rec.method == "POST" && rec.target == api + "init/error") {
            res.result(http::status::accepted);
        } else if (rec.method == "POST" && rec.target.rfind(api + "invocation/", 0) == 0) {
            std::string rest = rec.target.substr(api.size() + 11);
            const auto slash = rest.find('/');
            const std::string id = rest.substr(0, slash);
            std::optional<int> status = post_status_ ? post_status_(rec) : std::nullopt;
            if (!status) {
                if (!dispatched_.count(id)) status = 400;
                else if (answered_[id]++ > 0) status = 403;
                else status = 202;
            }
            if (*status == 0) {  // The connection is lost before the answer.
                lock.unlock();
                socket.shutdown(tcp::socket::shutdown_both, ec);
                return;
            }
            res.result(static_cast<unsigned>(*status));
            if (*status != 202) res.body() = R"({"errorMessage":"scripted answer"})";
        } else {
            res.result(http::status::not_found);
        }
        lock.unlock();

        res.keep_alive(!close);
        res.prepare_payload();
        http::write(socket, res, ec);
        if (ec || close) {
            socket.shutdown(tcp::socket::shutdown_both, ec);
            return;
        }
    }
}

}  // namespace muster_test
