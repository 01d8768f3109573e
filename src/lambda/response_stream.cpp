#include <muster/lambda/response_stream.hpp>

#include <stdexcept>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace muster::lambda {

std::string serialize_prelude(const http_response_prelude& prelude) {
    boost::json::object headers;
    for (const auto& [name, value] : prelude.headers) {
        auto [it, inserted] = headers.emplace(name, value);
        if (!inserted) {
            std::string joined(it->value().as_string());
            joined += ", ";
            joined += value;
            it->value() = joined;
        }
    }
    boost::json::array cookies;
    for (const auto& c : prelude.cookies) cookies.emplace_back(c);
    std::string out =
        boost::json::serialize(boost::json::object{{"statusCode", prelude.status_code},
                                                   {"headers", std::move(headers)},
                                                   {"cookies", std::move(cookies)}});
    // Lambda finds the end of the prelude by these eight NUL bytes.
    out.append(8, '\0');
    return out;
}

boost::asio::awaitable<void> response_stream::write(std::string bytes) {
    if (closed_) {
        throw std::logic_error(
            "muster::lambda::response_stream: written after the invocation's handler returned");
    }
    if (writing_) {
        throw std::logic_error(
            "muster::lambda::response_stream: a write started while another was in progress "
            "(await each write before the next)");
    }
    writing_ = true;
    // Reset on every way out: a failed write leaves the stream to the
    // runtime, which reports it.
    struct reset {
        bool& flag;
        ~reset() { flag = false; }
    } guard{writing_};
    if (!started_) {
        started_ = true;
        co_await sink_->open(content_type_);
    }
    if (bytes.empty()) co_return;
    const std::size_t size = bytes.size();
    co_await sink_->write(std::move(bytes));
    bytes_ += size;
}

boost::asio::awaitable<void> response_stream::write_prelude(http_response_prelude prelude) {
    if (started_) {
        throw std::logic_error(
            "muster::lambda::response_stream: the prelude must be written before anything else");
    }
    content_type_ = http_integration_content_type;
    co_await write(serialize_prelude(prelude));
}

}  // namespace muster::lambda
