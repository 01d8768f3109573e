#include <muster/aws/dynamodb.hpp>

#include <algorithm>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/retry.hpp>
#include <muster/core/scope.hpp>
#include <muster/http/error.hpp>

#include "detail.hpp"

namespace muster::aws {

namespace asio = boost::asio;
namespace json = boost::json;

struct dynamodb::state {
    http::client client;
    aws::config cfg;
    std::string url;
};

namespace {

using state_ptr = std::shared_ptr<const dynamodb::state>;

/// DynamoDB's batch limit.
constexpr std::size_t batch_size = 25;

aws::error dynamodb_error(const http::response& r) {
    std::string code;
    std::string message;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        if (const auto* t = o.if_contains("__type"); t && t->is_string()) code = t->as_string();
        for (const char* name : {"message", "Message"}) {
            if (const auto* m = o.if_contains(name); m && m->is_string()) {
                message = m->as_string();
                break;
            }
        }
    }
    if (code.empty()) code = r.headers.get("x-amzn-ErrorType").value_or("");
    // "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    if (auto hash = code.find('#'); hash != std::string::npos) code.erase(0, hash + 1);
    if (auto colon = code.find(':'); colon != std::string::npos) code.erase(colon);
    if (code.empty()) code = "HTTP" + std::to_string(r.status);
    if (message.empty() && ec) message = r.body.substr(0, 200);
    std::string request_id(r.headers.get("x-amzn-RequestId").value_or(""));
    return aws::error("dynamodb", r.status, std::move(code), std::move(message),
                      std::move(request_id));
}

asio::awaitable<json::object> invoke(state_ptr st, std::string operation, json::object request) {
    detail::call c;
    c.request.method = "POST";
    c.request.url = st->url;
    c.request.headers.set("Content-Type", "application/x-amz-json-1.0");
    c.request.headers.set("X-Amz-Target", "DynamoDB_20120810." + operation);
    c.request.body = json::serialize(request);
    c.params.credentials = st->cfg.credentials;
    c.params.region = st->cfg.region;
    c.params.service = "dynamodb";
    c.parse = &dynamodb_error;
    auto sending = detail::send(st->client, st->cfg.retry, std::move(c));
    http::response r = co_await std::move(sending);
    if (r.body.empty()) co_return json::object{};
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) {
        throw aws::error("dynamodb", r.status, "InvalidResponse",
                         operation + " answered with a body that is not a JSON object",
                         std::string(r.headers.get("x-amzn-RequestId").value_or("")));
    }
    co_return std::move(v.as_object());
}

void add_expressions(json::object& request, const std::string& condition, const json::object& names,
                     const json::object& values, const std::string& return_values) {
    if (!condition.empty()) request["ConditionExpression"] = condition;
    if (!names.empty()) request["ExpressionAttributeNames"] = names;
    if (!values.empty()) request["ExpressionAttributeValues"] = values;
    if (!return_values.empty()) request["ReturnValues"] = return_values;
}

asio::awaitable<std::optional<json::object>> get(state_ptr st, std::string table, json::object key,
                                                 get_item_options o) {
    json::object request{{"TableName", table}, {"Key", std::move(key)}};
    if (o.consistent_read) request["ConsistentRead"] = true;
    if (!o.projection_expression.empty()) request["ProjectionExpression"] = o.projection_expression;
    if (!o.expression_attribute_names.empty())
        request["ExpressionAttributeNames"] = o.expression_attribute_names;
    auto calling = invoke(st, "GetItem", std::move(request));
    json::object answer = co_await std::move(calling);
    auto* item = answer.if_contains("Item");
    if (!item || !item->is_object()) co_return std::nullopt;
    co_return std::move(item->as_object());
}

std::size_t count_items(const json::object& request_items) {
    std::size_t n = 0;
    for (const auto& [table, writes] : request_items)
        if (writes.is_array()) n += writes.as_array().size();
    return n;
}

asio::awaitable<void> batch_write(state_ptr st, json::object request_items) {
    const auto ex = co_await asio::this_coro::executor;
    const clock::time_point deadline = muster::deadline_of(ex);
    // Every write in input order, as (table, request), then batches of 25.
    std::vector<std::pair<std::string, json::value>> writes;
    for (auto& [table, list] : request_items) {
        if (!list.is_array()) {
            throw std::invalid_argument(
                "muster::aws::dynamodb::batch_write_item: the writes of \"" + std::string(table) +
                "\" are not an array");
        }
        for (auto& w : list.as_array()) writes.emplace_back(std::string(table), std::move(w));
    }
    const unsigned rounds = std::max(5u, st->cfg.retry.attempts);
    for (std::size_t first = 0; first < writes.size(); first += batch_size) {
        json::object pending;
        const std::size_t last = std::min(writes.size(), first + batch_size);
        for (std::size_t i = first; i < last; ++i) {
            auto& slot = pending[writes[i].first];
            if (!slot.is_array()) slot = json::array{};
            slot.as_array().push_back(std::move(writes[i].second));
        }
        for (unsigned round = 1;; ++round) {
            json::object request{{"RequestItems", std::move(pending)}};
            auto calling = invoke(st, "BatchWriteItem", std::move(request));
            json::object answer = co_await std::move(calling);
            auto* left = answer.if_contains("UnprocessedItems");
            if (!left || !left->is_object() || count_items(left->as_object()) == 0) break;
            pending = std::move(left->as_object());
            const auto delay = muster::retry_delay(st->cfg.retry, round);
            if (round >= rounds || clock::now() + delay >= deadline) {
                throw aws::error("dynamodb", 200, "UnprocessedItems",
                                 std::to_string(count_items(pending)) +
                                     " writes were still unprocessed after " +
                                     std::to_string(round) + " rounds",
                                 "");
            }
            asio::steady_timer pause(ex, delay);
            try {
                co_await pause.async_wait(asio::use_awaitable);
            } catch (const boost::system::system_error&) {
                throw http::error(http::error_kind::cancelled, st->url,
                                  "muster::aws: BatchWriteItem: cancelled while waiting to retry "
                                  "unprocessed items");
            }
        }
    }
}

}  // namespace

dynamodb::dynamodb(http::client client, aws::config cfg) {
    auto st = std::make_shared<state>(state{std::move(client), std::move(cfg), {}});
    st->url = st->cfg.endpoint_for("dynamodb") + "/";
    state_ = std::move(st);
}

asio::awaitable<json::object> dynamodb::call(std::string operation, json::object request) const {
    return invoke(state_, std::move(operation), std::move(request));
}

asio::awaitable<json::object> dynamodb::put_item(std::string table, json::object item,
                                                 put_item_options o) const {
    json::object request{{"TableName", std::move(table)}, {"Item", std::move(item)}};
    add_expressions(request, o.condition_expression, o.expression_attribute_names,
                    o.expression_attribute_values, o.return_values);
    return invoke(state_, "PutItem", std::move(request));
}

asio::awaitable<json::object> dynamodb::update_item(std::string table, json::object key,
                                                    update_item_options o) const {
    json::object request{{"TableName", std::move(table)}, {"Key", std::move(key)}};
    if (!o.update_expression.empty()) request["UpdateExpression"] = o.update_expression;
    add_expressions(request, o.condition_expression, o.expression_attribute_names,
                    o.expression_attribute_values, o.return_values);
    return invoke(state_, "UpdateItem", std::move(request));
}

asio::awaitable<std::optional<json::object>> dynamodb::get_item(std::string table, json::object key,
                                                                get_item_options o) const {
    return get(state_, std::move(table), std::move(key), std::move(o));
}

asio::awaitable<void> dynamodb::batch_write_item(json::object request_items) const {
    return batch_write(state_, std::move(request_items));
}

const aws::config& dynamodb::config() const noexcept { return state_->cfg; }

}  // namespace muster::aws
