#include "aws_stores.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/json/array.hpp>

namespace thumbnails {

namespace attr = muster::aws::attr;
namespace json = boost::json;
namespace asio = boost::asio;

s3_store::s3_store(muster::aws::s3 s3, std::string bucket, std::string prefix)
    : s3_(std::move(s3)), bucket_(std::move(bucket)), prefix_(std::move(prefix)) {
    if (bucket_.empty()) throw std::invalid_argument("s3_store: the bucket name is empty");
}

asio::awaitable<std::string> s3_store::put(std::string key, std::string bytes,
                                           std::string content_type) {
    muster::aws::put_options o;
    o.content_type = std::move(content_type);
    std::string object_key = prefix_ + key;
    auto put = s3_.put_object(bucket_, object_key, std::move(bytes), std::move(o));
    co_await std::move(put);
    co_return "s3://" + bucket_ + "/" + object_key;
}

asio::awaitable<void> s3_store::remove(std::string key) {
    auto del = s3_.delete_object(bucket_, prefix_ + key);
    co_await std::move(del);
}

json::object to_item(const metadata_record& r) {
    return json::object{
        {"thumbnail_key", attr::s(r.thumbnail_key)},
        {"source_url", attr::s(r.source_url)},
        {"message_id", attr::s(r.message_id)},
        {"request_id", attr::s(r.request_id)},
        {"source_bytes", attr::n(static_cast<std::int64_t>(r.source_bytes))},
        {"width", attr::n(std::int64_t{r.width})},
        {"height", attr::n(std::int64_t{r.height})},
        {"format", attr::s(r.format)},
        {"thumbnail_location", attr::s(r.thumbnail_location)},
        {"thumbnail_format", attr::s(r.thumbnail_format)},
        {"thumbnail_width", attr::n(std::int64_t{r.thumbnail_width})},
        {"thumbnail_height", attr::n(std::int64_t{r.thumbnail_height})},
        {"thumbnail_bytes", attr::n(static_cast<std::int64_t>(r.thumbnail_bytes))},
        {"dhash", attr::s(hex64(r.dhash))},
        {"average_color", attr::s(r.average_color)},
        {"fetch_ms", attr::n(r.fetch_ms)},
        {"decode_ms", attr::n(r.decode_ms)},
        {"store_ms", attr::n(r.store_ms)},
        {"processed_at", attr::s(r.processed_at)},
    };
}

dynamodb_store::dynamodb_store(muster::aws::dynamodb ddb, std::string table)
    : ddb_(std::move(ddb)), table_(std::move(table)) {
    if (table_.empty()) throw std::invalid_argument("dynamodb_store: the table name is empty");
}

asio::awaitable<void> dynamodb_store::commit(std::vector<metadata_record> records) {
    if (records.empty()) co_return;
    json::array puts;
    json::array deletes;
    for (const auto& r : records) {
        puts.push_back(json::object{{"PutRequest", json::object{{"Item", to_item(r)}}}});
        deletes.push_back(json::object{
            {"DeleteRequest",
             json::object{{"Key", json::object{{"thumbnail_key", attr::s(r.thumbnail_key)}}}}}});
    }
    std::exception_ptr failure;
    std::string what;
    try {
        auto write = ddb_.batch_write_item(json::object{{table_, std::move(puts)}});
        co_await std::move(write);
        co_return;
    } catch (const std::exception& e) {
        failure = std::current_exception();
        what = e.what();
    }
    // All or nothing: take back whatever of the batch was written before the failure.
    try {
        auto undo = ddb_.batch_write_item(json::object{{table_, std::move(deletes)}});
        co_await std::move(undo);
    } catch (const std::exception& e) {
        throw std::runtime_error("the batch write failed (" + what +
                                 ") and deleting its items failed too (" + e.what() +
                                 "): items of records reported failed may remain");
    }
    std::rethrow_exception(failure);
}

asio::awaitable<std::vector<std::string>> dynamodb_store::committed_keys(
    std::vector<std::string> thumbnail_keys) {
    // BatchGetItem, 100 keys a request (DynamoDB's limit), consistent reads. Keys DynamoDB
    // leaves unprocessed (throttling, the 16 MB response limit) are asked for again.
    constexpr std::size_t keys_per_request = 100;
    constexpr int rounds = 5;
    std::vector<std::string> committed;
    for (std::size_t first = 0; first < thumbnail_keys.size(); first += keys_per_request) {
        json::array keys;
        const std::size_t last = std::min(thumbnail_keys.size(), first + keys_per_request);
        for (std::size_t i = first; i < last; ++i) {
            keys.push_back(json::object{{"thumbnail_key", attr::s(thumbnail_keys[i])}});
        }
        for (int round = 0; !keys.empty(); ++round) {
            if (round == rounds) {
                throw std::runtime_error("BatchGetItem left " + std::to_string(keys.size()) +
                                         " keys unprocessed after " + std::to_string(rounds) +
                                         " rounds");
            }
            json::object request{
                {"RequestItems",
                 json::object{{table_, json::object{{"Keys", std::move(keys)},
                                                    {"ConsistentRead", true},
                                                    {"ProjectionExpression", "thumbnail_key"}}}}}};
            auto get = ddb_.call("BatchGetItem", std::move(request));
            const json::object answer = co_await std::move(get);
            keys = json::array();
            if (const auto* items = answer.if_contains("Responses")) {
                if (const auto* found = items->as_object().if_contains(table_)) {
                    for (const auto& item : found->as_array()) {
                        if (auto key = attr::get_string(item.as_object(), "thumbnail_key")) {
                            committed.push_back(std::move(*key));
                        }
                    }
                }
            }
            if (const auto* left = answer.if_contains("UnprocessedKeys")) {
                if (const auto* mine = left->as_object().if_contains(table_)) {
                    keys = mine->as_object().at("Keys").as_array();
                }
            }
        }
    }
    co_return committed;
}

}  // namespace thumbnails
