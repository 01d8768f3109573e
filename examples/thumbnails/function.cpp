#include "function.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <ranges>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/offload.hpp>
#include <muster/core/options.hpp>
#include <muster/core/status.hpp>
#include <muster/core/trace.hpp>
#include <muster/http/client.hpp>
#include <muster/http/error.hpp>
#include <muster/http/redacted.hpp>
#include <muster/lambda/batch.hpp>
#include <muster/lambda/errors.hpp>
#include <muster/lambda/events/s3.hpp>
#include <muster/lambda/events/sqs.hpp>
#include <muster/lambda/response_stream.hpp>
#include <muster/process_pool/errors.hpp>
#include <muster/process_pool/process_pool.hpp>

#include "aws_stores.hpp"
#include "directory_store.hpp"
#include "event.hpp"
#include "failure.hpp"
#include "image.hpp"
#include "key_claims.hpp"
#include "sqlite_store.hpp"

namespace thumbnails {

namespace asio = boost::asio;
namespace json = boost::json;
namespace lambda = muster::lambda;
using muster::clock;

struct thumbnail_function::state {
    environment env;
    config cfg;
    std::shared_ptr<thumbnail_store> thumbnails;
    std::shared_ptr<metadata_store> metadata;
    // Made by init on the io_context; used only from its thread.
    std::optional<muster::http::client> http;
    /// The AWS stores' client: AWS's endpoints, its own limits (no image-sized bodies, no
    /// redirects), so fetching and storing do not share connection slots.
    std::optional<muster::http::client> aws_http;
    /// With THUMBNAILS_S3_SOURCES=signed: signs the GETs of `s3://` sources.
    std::optional<muster::aws::s3> sources;
    std::optional<key_claims> claims;
    std::unique_ptr<muster::process_pool> pool;
};

namespace {

/// What one SQS record of the current batch produced. Per invocation, never shared.
struct record_state {
    std::string url;                    ///< The image being (or last) processed.
    std::vector<metadata_record> rows;  ///< One per image, once it is stored.
    std::vector<std::string> claimed;   ///< Keys claimed in `key_claims`, released once.
};

/// The records of one invocation, by position in the batch.
struct batch_state {
    std::vector<record_state> records;
    /// Positions of each messageId, in batch order, and the records already matched to one.
    std::map<std::string, std::vector<std::size_t>, std::less<>> positions;
    std::map<const lambda::sqs_message*, std::size_t> matched;
    std::map<std::string, std::size_t, std::less<>> next;

    explicit batch_state(const lambda::sqs_event& e) : records(e.records.size()) {
        for (std::size_t i = 0; i < e.records.size(); ++i) {
            positions[e.records[i].message_id].push_back(i);
        }
    }

    /// The position of the record `process_batch` hands over. It passes a reference into its
    /// own copy of the event, so the position is found by messageId; records of one
    /// messageId (never two in a real batch) start in batch order.
    std::size_t position_of(const lambda::sqs_message& m) {
        if (const auto it = matched.find(&m); it != matched.end()) return it->second;
        const std::size_t i = positions.at(m.message_id).at(next[m.message_id]++);
        matched.emplace(&m, i);
        return i;
    }
};

double ms_since(clock::time_point start) {
    return std::chrono::duration<double, std::milli>(clock::now() - start).count();
}

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch())
                        .count() %
                    1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return text;
}

bool is_cancellation(const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted;
}

/// How long a presigned GET of an `s3://` source stays valid: longer than any fetch.
constexpr std::chrono::seconds presign_validity{900};

/// What to GET for `url`: `url` itself, or for `s3://bucket/key` a GET presigned with the
/// function's credentials (through the same client, limits and timeouts as any image).
std::string fetch_url(const thumbnail_function::state& s, const std::string& url) {
    if (!url.starts_with("s3://") || !s.sources) return url;
    const auto slash = url.find('/', 5);
    if (slash == std::string::npos || slash == 5 || slash + 1 == url.size()) {
        throw record_error(reason::malformed_body, "not an s3://bucket/key URL: " + url);
    }
    const std::string bucket = url.substr(5, slash - 5);
    const std::string key = lambda::url_decode_s3_key(std::string_view(url).substr(slash + 1));
    return s.sources->presigned_get_url(bucket, key, presign_validity);
}

/// `text` with every `secret` in it replaced by `shown`: a presigned URL (a credential for
/// its lifetime) never reaches a log line.
std::string scrubbed(std::string text, const std::string& secret, const std::string& shown) {
    if (secret == shown) return text;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
        text.replace(at, secret.size(), shown);
        at += shown.size();
    }
    return text;
}

/// The image at `url`, or the record's reason why not.
asio::awaitable<std::string> fetch(std::shared_ptr<thumbnail_function::state> self,
                                   std::string url) {
    const std::string target = fetch_url(*self, url);
    muster::http::response r;
    try {
        auto get = self->http->get(target);
        r = co_await std::move(get);
    } catch (const muster::http::error& e) {
        switch (e.kind()) {
            case muster::http::error_kind::timeout:
                throw record_error(reason::fetch_timeout,
                                   "no complete response within " +
                                       std::to_string(self->cfg.fetch_timeout.count()) +
                                       " ms (THUMBNAILS_FETCH_TIMEOUT_MS) from " +
                                       muster::http::redacted(url));
            case muster::http::error_kind::body_too_large:
                throw record_error(
                    reason::too_large,
                    "the image is larger than " + std::to_string(self->cfg.max_bytes) +
                        " bytes (THUMBNAILS_MAX_BYTES): " + muster::http::redacted(url));
            case muster::http::error_kind::cancelled:
                throw;  // Its collection stopped it; the outcome says why.
            default:
                // The error shows the URL redacted; a presigned `s3://` source reads as itself.
                throw record_error(reason::fetch_failed,
                                   scrubbed(e.what(), muster::http::redacted(target),
                                            muster::http::redacted(url)));
        }
    }
    if (r.status == 404) {
        throw record_error(reason::image_missing,
                           "HTTP 404 (image missing) from " + muster::http::redacted(url));
    }
    if (!r.ok()) {
        throw record_error(reason::http_error, "HTTP " + std::to_string(r.status) +
                                                   (r.reason.empty() ? "" : " " + r.reason) +
                                                   " from " + muster::http::redacted(url));
    }
    co_return std::move(r.body);
}

/// Decodes and resizes on the CPU pool, or in a worker process.
asio::awaitable<thumbnail> decode(std::shared_ptr<thumbnail_function::state> self,
                                  std::string image) {
    const thumbnail_params p{self->cfg.max_pixels, self->cfg.size, self->cfg.format};
    if (!self->pool) {
        auto job = [image = std::move(image), p] { return make_thumbnail(image, p); };
        auto decoded = muster::offload(std::move(job));
        co_return co_await std::move(decoded);
    }
    std::string response;
    try {
        auto run = self->pool->run(thumbnail_work_name,
                                   encode_request(p, self->cfg.crash_on_marker, image));
        response = co_await std::move(run);
    } catch (const muster::worker_crashed& e) {
        throw record_error(reason::worker_crashed, e.what());
    } catch (const muster::work_error& e) {
        throw record_error(reason::decode_failed, e.type() + ": " + e.what());
    } catch (const muster::worker_start_error& e) {
        throw record_error(reason::decode_failed, e.what());
    }
    co_return decode_response(response);
}

/// One image of a record: fetched, decoded, stored; its metadata row kept in `rec`.
asio::awaitable<void> process_image(std::shared_ptr<thumbnail_function::state> self,
                                    std::shared_ptr<batch_state> batch, std::size_t position,
                                    std::string url, std::string message_id,
                                    std::string request_id) {
    const auto fetch_start = clock::now();
    auto fetched = fetch(self, url);
    std::string image = co_await std::move(fetched);
    const double fetch_ms = ms_since(fetch_start);
    const std::uint64_t source_bytes = image.size();

    const auto decode_start = clock::now();
    auto decoded = decode(self, std::move(image));
    thumbnail t = co_await std::move(decoded);
    const double decode_ms = ms_since(decode_start);

    std::string key = thumbnail_key(url, self->cfg.format);
    auto claim = self->claims->claim(key);
    co_await std::move(claim);
    // From here on the batch's end releases the claim and, if the record fails, removes
    // what the put may have written.
    batch->records[position].claimed.push_back(key);

    const auto store_start = clock::now();
    const std::uint64_t thumbnail_bytes = t.bytes.size();
    std::string location;
    try {
        auto put = self->thumbnails->put(key, std::move(t.bytes),
                                         std::string(content_type(self->cfg.format)));
        location = co_await std::move(put);
    } catch (const boost::system::system_error& e) {
        if (is_cancellation(e)) throw;
        throw record_error(reason::store_failed, std::string("cannot store the thumbnail: ") +
                                                     e.what());
    } catch (const std::exception& e) {
        throw record_error(reason::store_failed, std::string("cannot store the thumbnail: ") +
                                                     e.what());
    }

    metadata_record row;
    row.source_url = source_name(url);
    row.message_id = std::move(message_id);
    row.request_id = std::move(request_id);
    row.source_bytes = source_bytes;
    row.width = t.width;
    row.height = t.height;
    row.format = t.source_format;
    row.thumbnail_key = std::move(key);
    row.thumbnail_location = std::move(location);
    row.thumbnail_format = std::string(to_string(self->cfg.format));
    row.thumbnail_width = t.thumb_width;
    row.thumbnail_height = t.thumb_height;
    row.thumbnail_bytes = thumbnail_bytes;
    row.dhash = t.dhash;
    row.average_color = to_hex(t.average_color);
    row.fetch_ms = fetch_ms;
    row.decode_ms = decode_ms;
    row.store_ms = ms_since(store_start);
    row.processed_at = utc_now();
    batch->records[position].rows.push_back(std::move(row));
}

/// One SQS record: every image its body names, one after the other; the record succeeds only
/// if all of them do (an S3 notification may carry several).
asio::awaitable<void> process_record(std::shared_ptr<thumbnail_function::state> self,
                                     std::shared_ptr<batch_state> batch, std::size_t position,
                                     std::string message_id, std::string body,
                                     std::string request_id) {
    // The record's row in a trace: its message id until its body names an image.
    auto naming = muster::name_task("record " + message_id);
    co_await std::move(naming);
    const record_plan plan =
        parse_body(body, self->sources ? std::string_view() : std::string_view(self->cfg.s3_base_url));
    if (!plan.urls.empty()) {
        std::string label = muster::http::redacted(plan.urls.front());
        if (plan.urls.size() > 1) label += " (+" + std::to_string(plan.urls.size() - 1) + ")";
        auto renaming = muster::name_task(std::move(label));
        co_await std::move(renaming);
    }
    for (const auto& url : plan.urls) {
        batch->records[position].url = url;
        auto one = process_image(self, batch, position, url, message_id, request_id);
        co_await std::move(one);
    }
}

struct failure {
    reason why = reason::internal;
    std::string message;
};

failure describe_error(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const record_error& e) {
        return {e.reason(), e.what()};
    } catch (const std::exception& e) {
        return {reason::internal, e.what()};
    } catch (...) {
        return {reason::internal, "unknown exception"};
    }
}

failure describe(const muster::outcome<void>& o) {
    switch (o.status()) {
        case muster::status::ok:
            break;
        case muster::status::failed:
            return describe_error(o.error());
        case muster::status::timed_out:
            return {reason::deadline,
                    "still running at the deadline (the invocation's deadline less "
                    "THUMBNAILS_COMMIT_RESERVE_MS)"};
        case muster::status::not_started:
            return {reason::not_started, o.message()};
        case muster::status::cancelled:
            return {reason::cancelled, o.message()};
    }
    return {reason::internal, "no failure"};
}

/// `{"batchItemFailures": [every record]}`: what a failed commit leaves.
json::value all_failed(const lambda::batch_response& r) {
    json::array failures;
    for (const auto& item : r.items()) {
        failures.push_back(json::object{{"itemIdentifier", item.item_identifier}});
    }
    return json::object{{"batchItemFailures", std::move(failures)}};
}

/// The lines of a direct invocation (`handle_stream`). The records' tasks append a line the
/// moment they end, without waiting; one writer coroutine (`write_progress`) sends what has
/// piled up, so a record never waits for the caller to read.
struct progress_lines {
    progress_lines(asio::any_io_executor ex, std::vector<json::value> sources)
        : urls(std::move(sources)),
          reported(urls.size(), false),
          wake(std::move(ex), asio::steady_timer::time_point::max()) {}

    std::vector<json::value> urls;  ///< `imageUrls`, as sent.
    std::vector<bool> reported;     ///< Whether each image has its line.
    std::string pending;            ///< Lines not yet handed to the writer.
    bool done = false;              ///< The summary is in `pending`; nothing follows.
    asio::steady_timer wake;        ///< Cancelled to wake the writer.
    std::array<std::size_t, muster::status_count> by_status{};  ///< Lines by final status.
    std::size_t stored = 0;                                     ///< `stored` lines.

    void append(std::string line) {
        pending += line;
        wake.cancel();
    }
    void close() {
        done = true;
        wake.cancel();
    }

    json::object line_of(std::size_t position) const {
        const json::value& url = urls.at(position);
        return json::object{
            {"index", position},
            {"url", url.is_string() ? json::value(muster::http::redacted(url.get_string())) : url}};
    }

    /// The image at `position` is over: its thumbnail stored (`rec.rows`), or `error`. A
    /// cancellation gets no line here: its outcome (`timed_out`, `cancelled`) is known only
    /// when the collection returns, and `batch_ended` writes it.
    void record_ended(std::size_t position, const record_state& rec, std::exception_ptr error) {
        json::object line = line_of(position);
        if (!error && !rec.rows.empty()) {
            const metadata_record& row = rec.rows.back();
            line["status"] = "stored";
            line["thumbnail"] = json::object{{"key", row.thumbnail_key},
                                             {"bytes", row.thumbnail_bytes},
                                             {"width", row.thumbnail_width},
                                             {"height", row.thumbnail_height},
                                             {"format", row.thumbnail_format}};
            ++stored;
        } else if (error) {
            if (is_cancelled(error)) return;
            const failure f = describe_error(error);
            line["status"] = "failed";
            line["error"] = json::object{{"reason", to_string(f.why)}, {"message", f.message}};
            ++by_status[static_cast<std::size_t>(muster::status::failed)];
        } else {
            return;  // Nothing to do for it (never for a direct invocation's URL).
        }
        reported.at(position) = true;
        append(json::serialize(line) + "\n");
    }

    /// The batch is over: a line for each image that has none yet (the deadline stopped it or
    /// kept it from starting), then the summary, and the writer's end.
    void batch_ended(std::span<const lambda::batch_item> items,
                     const std::optional<std::string>& commit_error, std::size_t removed) {
        std::string rest;
        for (std::size_t i = 0; i < items.size() && i < reported.size(); ++i) {
            if (reported[i]) continue;
            const muster::status st = items[i].result.status();
            const failure f = describe(items[i].result);
            json::object line = line_of(i);
            line["status"] = muster::to_string(st);
            line["error"] = json::object{{"reason", to_string(f.why)}, {"message", f.message}};
            ++by_status[static_cast<std::size_t>(st)];
            reported[i] = true;
            rest += json::serialize(line) + "\n";
        }
        const auto count = [this](muster::status st) {
            return by_status[static_cast<std::size_t>(st)];
        };
        json::object summary{{"images", urls.size()},
                             {"stored", stored},
                             {"failed", count(muster::status::failed)},
                             {"timed_out", count(muster::status::timed_out)},
                             {"not_started", count(muster::status::not_started)},
                             {"cancelled", count(muster::status::cancelled)},
                             {"committed", commit_error ? 0 : stored},
                             {"thumbnails_removed", removed}};
        if (commit_error) summary["commit_error"] = *commit_error;
        rest += json::serialize(json::object{{"summary", std::move(summary)}}) + "\n";
        append(std::move(rest));
        close();
    }

    static bool is_cancelled(std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const boost::system::system_error& e) {
            return e.code() == asio::error::operation_aborted;
        } catch (const muster::http::error& e) {
            return e.kind() == muster::http::error_kind::cancelled;
        } catch (...) {
            return false;
        }
    }
};

/// `record`, then `lines` told how it ended, before its outcome reaches the collection.
asio::awaitable<void> observed(std::shared_ptr<progress_lines> lines,
                               std::shared_ptr<batch_state> batch, std::size_t position,
                               asio::awaitable<void> record) {
    std::exception_ptr error;
    try {
        co_await std::move(record);
    } catch (...) {
        error = std::current_exception();
    }
    lines->record_ended(position, batch->records[position], error);
    if (error) std::rethrow_exception(error);
}

/// Sends `lines` to `out` as they come, until the summary is sent. Stops (operation_aborted)
/// when cancelled: the invocation's deadline.
asio::awaitable<void> write_progress(std::shared_ptr<progress_lines> lines,
                                     lambda::response_stream* out) {
    for (;;) {
        if (!lines->pending.empty()) {
            // What piles up meanwhile goes out in the next chunk.
            std::string chunk = std::exchange(lines->pending, {});
            co_await out->write(std::move(chunk));
            continue;
        }
        if (lines->done) co_return;
        boost::system::error_code ec;
        co_await lines->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        // Woken by a line, or by this task's own cancellation.
        const asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) {
            throw boost::system::system_error(asio::error::operation_aborted);
        }
    }
}

/// The batch `handle` processes (see `thumbnail_function`), and for a direct invocation each
/// record's line in `lines` (null for an SQS batch).
asio::awaitable<json::value> run_batch(std::shared_ptr<thumbnail_function::state> self,
                                       lambda::sqs_event batch_event, lambda::invocation& inv,
                                       std::shared_ptr<progress_lines> lines);

/// Thumbnails removed at once by the clean-up of a batch.
constexpr std::size_t removal_limit = 16;

/// Removes the thumbnails under `keys` that nobody needs any more: no batch still running
/// claims them and no committed row refers to them. Returns how many were removed; failures
/// are logged (the records concerned are reported failed either way).
asio::awaitable<std::size_t> remove_unneeded(std::shared_ptr<thumbnail_function::state> self,
                                             std::set<std::string> keys,
                                             const lambda::logger& log) {
    std::vector<std::string> marked;
    for (const auto& key : keys) {
        if (self->claims->begin_removal(key)) marked.push_back(key);
    }
    if (marked.empty()) co_return 0;
    // Every removal begun here ends, however this coroutine ends: a key left "being removed"
    // would make every later writer of it wait forever.
    struct end_removals {
        key_claims& claims;
        const std::vector<std::string>& keys;
        ~end_removals() {
            for (const auto& key : keys) claims.end_removal(key);
        }
    } const ending{*self->claims, marked};
    std::set<std::string> keep;
    try {
        auto query = self->metadata->committed_keys(marked);
        const auto committed = co_await std::move(query);
        keep.insert(committed.begin(), committed.end());
    } catch (const std::exception& e) {
        log.error(std::string("cannot tell which thumbnails committed rows still use, so none "
                              "is removed: ") +
                  e.what());
        keep.insert(marked.begin(), marked.end());
    }
    std::vector<std::string> unneeded;
    for (const auto& key : marked) {
        if (!keep.count(key)) unneeded.push_back(key);
    }
    // Side by side: a batch whose commit failed may have a thumbnail per record to remove, and
    // one S3 DELETE after the other would spend its reserve.
    auto remove_one = [self](const std::string& key) { return self->thumbnails->remove(key); };
    muster::options o;
    o.limit = removal_limit;
    o.name = "removals";
    auto removing = muster::gather(unneeded | std::views::transform(remove_one), o);
    const auto outcomes = co_await std::move(removing);
    std::size_t removed = 0;
    for (std::size_t i = 0; i < unneeded.size(); ++i) {
        if (outcomes[i].ok()) {
            ++removed;
        } else {
            log.error("cannot remove the thumbnail " + unneeded[i] +
                      " of a failed record: " + outcomes[i].message());
        }
    }
    co_return removed;
}

}  // namespace

std::string source_name(std::string_view url) {
    const std::size_t hash = std::min(url.find('#'), url.size());
    const std::size_t question = url.substr(0, hash).find('?');
    if (question == std::string_view::npos) return muster::http::redacted(url);
    const std::string_view query = url.substr(question + 1, hash - question - 1);
    std::vector<std::string_view> pairs;
    for (std::size_t begin = 0;;) {
        const std::size_t end = std::min(query.find('&', begin), query.size());
        pairs.push_back(query.substr(begin, end - begin));
        if (end == query.size()) break;
        begin = end + 1;
    }
    // Names compared as redacted() compares them: case-insensitive, percent-decoded.
    auto name_of = [](std::string_view pair) {
        const std::string_view raw = pair.substr(0, pair.find('='));
        auto hex = [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return std::isdigit(u) ? u - '0' : std::isxdigit(u) ? (std::tolower(u) - 'a' + 10) : -1;
        };
        std::string name;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            char c = raw[i];
            if (c == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
                c = static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
                i += 2;
            }
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return name;
    };
    static const std::set<std::string, std::less<>> signatures = {"x-amz-signature", "signature",
                                                                  "x-goog-signature"};
    static const std::set<std::string, std::less<>> presigning = {"x-amz-algorithm",
                                                                  "x-amz-credential",
                                                                  "x-amz-date",
                                                                  "x-amz-expires",
                                                                  "x-amz-signedheaders",
                                                                  "x-amz-signature",
                                                                  "x-amz-security-token",
                                                                  "awsaccesskeyid",
                                                                  "signature",
                                                                  "expires",
                                                                  "policy",
                                                                  "key-pair-id",
                                                                  "googleaccessid"};
    const bool presigned = std::ranges::any_of(
        pairs, [&](std::string_view p) { return signatures.contains(name_of(p)); });
    if (!presigned) return muster::http::redacted(url);
    std::string kept;
    for (const auto pair : pairs) {
        const std::string name = name_of(pair);
        if (presigning.contains(name) || name.starts_with("x-goog-")) continue;
        if (!kept.empty()) kept += '&';
        kept += pair;
    }
    std::string name(url.substr(0, question));
    if (!kept.empty()) {
        name += '?';
        name += kept;
    }
    name += url.substr(hash);
    return muster::http::redacted(name);
}

std::string thumbnail_key(std::string_view url, output_format format) {
    const std::string name = source_name(url);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(name.data(), name.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
        length < 16) {
        throw std::runtime_error("SHA-256 is not available");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string key;
    for (unsigned i = 0; i < 16; ++i) {
        key += hex[digest[i] >> 4];
        key += hex[digest[i] & 0xf];
    }
    key += '.';
    key += extension(format);
    return key;
}

thumbnail_function::thumbnail_function(environment env) : state_(std::make_shared<state>()) {
    state_->env = std::move(env);
}

thumbnail_function::~thumbnail_function() = default;

void thumbnail_function::use_stores(std::shared_ptr<thumbnail_store> thumbnails,
                                    std::shared_ptr<metadata_store> metadata) {
    if (thumbnails) state_->thumbnails = std::move(thumbnails);
    if (metadata) state_->metadata = std::move(metadata);
}

const config& thumbnail_function::configuration() const { return state_->cfg; }

asio::awaitable<void> thumbnail_function::init() {
    auto& s = *state_;
    try {
        s.cfg = read_config(s.env);
        // The CPU pool starts now, not in the first invocation, and a bad MUSTER_CPU_THREADS
        // is an init error rather than a failure of every record.
        if (s.cfg.decoder == decoder_mode::threads) (void)muster::cpu_pool();
    } catch (const std::invalid_argument& e) {
        throw lambda::function_error("Thumbnails.InvalidConfiguration", e.what());
    }
    // Credentials, region and endpoint overrides for the AWS stores and signed S3 sources, as
    // Lambda (or a test) sets them.
    std::optional<muster::aws::config> aws;
    if (s.cfg.uses_aws()) {
        try {
            aws = muster::aws::config::from_env(s.env);
        } catch (const std::invalid_argument& e) {
            throw lambda::function_error("Thumbnails.InvalidConfiguration",
                                         std::string("the AWS stores and signed S3 sources "
                                                     "need AWS credentials: ") +
                                             e.what());
        }
    }
    // The executor of the runtime's io_context, which outlives every invocation: the HTTP
    // pool's connections and the worker pool live on it and stay warm between invocations.
    const asio::any_io_executor ex = co_await asio::this_coro::executor;
    try {
        if (aws) {
            muster::http::options ao;
            ao.max_connections_per_origin = std::max<std::size_t>(s.cfg.fetch_limit, 8);
            ao.user_agent = "muster-thumbnails";
            s.aws_http.emplace(ex, ao);
            if (!s.thumbnails && s.cfg.thumbnail_store == thumbnail_store_kind::s3) {
                s.thumbnails = std::make_shared<s3_store>(muster::aws::s3(*s.aws_http, *aws),
                                                          s.cfg.bucket, s.cfg.thumbnail_prefix);
            }
            if (!s.metadata && s.cfg.metadata_store == metadata_store_kind::dynamodb) {
                s.metadata = std::make_shared<dynamodb_store>(
                    muster::aws::dynamodb(*s.aws_http, *aws), s.cfg.table);
            }
            // Presigning is local; the fetch client makes the requests.
            if (s.cfg.sign_s3_sources) s.sources.emplace(*s.aws_http, *aws);
        }
        if (!s.thumbnails) s.thumbnails = std::make_shared<directory_store>(s.cfg.thumbnail_dir());
        if (!s.metadata) {
            // Commits wait for another process's lock at most half the reserve, so a busy
            // database fails the batch in time rather than running into the deadline.
            s.metadata = std::make_shared<sqlite_store>(
                s.cfg.db_path, std::max(std::chrono::milliseconds(1), s.cfg.commit_reserve / 2));
        }
        muster::http::options o;
        o.max_connections_per_origin = s.cfg.fetch_limit;
        o.request_timeout = s.cfg.fetch_timeout;
        o.connect_timeout = std::min<clock::duration>(s.cfg.fetch_timeout, std::chrono::seconds(10));
        o.max_body_size = s.cfg.max_bytes;
        o.follow_redirects = true;
        o.max_redirects = 5;
        o.user_agent = "muster-thumbnails";
        s.http.emplace(ex, o);
        s.claims.emplace(ex);
        if (s.cfg.decoder == decoder_mode::processes) {
            s.pool = std::make_unique<muster::process_pool>(ex);
            auto start = s.pool->start();
            co_await std::move(start);
        }
    } catch (const std::exception& e) {
        throw lambda::function_error("Thumbnails.InitFailed", e.what());
    }
}

asio::awaitable<json::value> thumbnail_function::handle(json::value event,
                                                        lambda::invocation& inv) {
    // Not an SQS batch: no record can be reported, so the invocation fails as a whole.
    auto batch_event = json::value_to<lambda::sqs_event>(event);
    auto running = run_batch(state_, std::move(batch_event), inv, nullptr);
    co_return co_await std::move(running);
}

namespace {

/// A direct invocation's `imageUrls` as a batch: one record per URL, its body `{"url": …}`.
lambda::sqs_event direct_batch(const json::array& urls) {
    lambda::sqs_event e;
    for (std::size_t i = 0; i < urls.size(); ++i) {
        lambda::sqs_message m;
        m.message_id = "imageUrls[" + std::to_string(i) + "]";
        m.body = json::serialize(json::object{{"url", urls[i]}});
        m.event_source = "aws:sqs";
        e.records.push_back(std::move(m));
    }
    return e;
}

/// `run_batch`, and the writer woken for the last time however it ends.
asio::awaitable<json::value> run_direct(std::shared_ptr<thumbnail_function::state> self,
                                        lambda::sqs_event batch_event, lambda::invocation& inv,
                                        std::shared_ptr<progress_lines> lines) {
    struct closing {
        progress_lines& lines;
        ~closing() { lines.close(); }
    } const close_at_end{*lines};
    auto running = run_batch(std::move(self), std::move(batch_event), inv, lines);
    co_return co_await std::move(running);
}

}  // namespace

asio::awaitable<void> thumbnail_function::handle_stream(json::value event, lambda::invocation& inv,
                                                        lambda::response_stream& out) {
    const json::object* direct = event.if_object();
    if (!direct || !direct->contains("imageUrls") || direct->contains("Records")) {
        // An SQS batch: its batch response, in one write.
        auto handling = handle(std::move(event), inv);
        const json::value response = co_await std::move(handling);
        out.set_content_type("application/json");
        co_await out.write(json::serialize(response));
        co_return;
    }
    const json::array* urls = direct->at("imageUrls").if_array();
    if (!urls) throw lambda::invalid_event_error("\"imageUrls\" must be an array of URLs");
    const asio::any_io_executor ex = co_await asio::this_coro::executor;
    auto lines =
        std::make_shared<progress_lines>(ex, std::vector<json::value>(urls->begin(), urls->end()));
    out.set_content_type("application/x-ndjson");
    auto processing = run_direct(state_, direct_batch(*urls), inv, lines);
    auto writing = write_progress(lines, &out);
    auto both = muster::gather(std::move(processing), std::move(writing));
    const auto outcomes = co_await std::move(both);
    // A failed batch (not an image's failure: a bug, or the invocation cancelled) or a broken
    // stream fails the invocation.
    (void)std::get<0>(outcomes).value();
    std::get<1>(outcomes).value();
}

namespace {

asio::awaitable<json::value> run_batch(std::shared_ptr<thumbnail_function::state> self,
                                       lambda::sqs_event batch_event, lambda::invocation& inv,
                                       std::shared_ptr<progress_lines> lines) {
    const config& cfg = self->cfg;
    auto batch = std::make_shared<batch_state>(batch_event);
    const std::size_t record_count = batch_event.records.size();

    muster::options o;
    o.limit = cfg.fetch_limit;
    // The records stop a reserve before the invocation's deadline: the commit, the clean-up
    // and the response happen in it.
    if (inv.has_deadline()) o.deadline = inv.deadline() - cfg.commit_reserve;
    o.name = "records";

    auto work = [self, batch, lines, request_id = inv.request_id()](const lambda::sqs_message& m) {
        const std::size_t position = batch->position_of(m);
        auto record = process_record(self, batch, position, m.message_id, m.body, request_id);
        if (!lines) return record;
        return observed(lines, batch, position, std::move(record));
    };
    auto processing = lambda::process_batch(std::move(batch_event), std::move(work), o);
    const lambda::batch_response r = co_await std::move(processing);
    const auto items = r.items();

    // Every record has its final outcome: commit the rows of those that succeeded, at once.
    std::vector<metadata_record> rows;
    std::set<std::string> committed_keys;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].result.ok()) continue;
        for (const auto& row : batch->records[i].rows) {
            rows.push_back(row);
            committed_keys.insert(row.thumbnail_key);
        }
    }
    const std::size_t row_count = rows.size();
    const auto commit_start = clock::now();
    std::optional<std::string> commit_error;
    if (!rows.empty()) {
        // The thumbnails first, all at once (one directory fsync for the batch): a row is
        // committed only once the file it names survives a crash.
        try {
            auto sync = self->thumbnails->sync();
            co_await std::move(sync);
        } catch (const std::exception& e) {
            commit_error = std::string("cannot make the thumbnails durable: ") + e.what();
            committed_keys.clear();
        }
    }
    if (!rows.empty() && !commit_error) {
        try {
            auto commit = self->metadata->commit(std::move(rows));
            co_await std::move(commit);
        } catch (const std::exception& e) {
            commit_error = e.what();
            committed_keys.clear();
        }
    }
    const double commit_ms = ms_since(commit_start);

    // This batch's claims end here; then the thumbnails of every record that did not end up
    // committed go, unless something else needs the same key.
    std::set<std::string> unneeded;
    for (const auto& rec : batch->records) {
        for (const auto& key : rec.claimed) {
            self->claims->release(key);
            if (!committed_keys.count(key)) unneeded.insert(key);
        }
    }
    auto cleanup = remove_unneeded(self, std::move(unneeded), inv.log());
    const std::size_t removed = co_await std::move(cleanup);

    // One line per failed record, with its reason, and the response.
    std::size_t succeeded = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        failure f;
        if (items[i].result.ok()) {
            if (!commit_error) {
                ++succeeded;
                continue;
            }
            f = {reason::commit_failed, "the batch's metadata commit failed: " + *commit_error};
        } else {
            f = describe(items[i].result);
        }
        json::object line{{"messageId", items[i].item_identifier},
                          {"reason", to_string(f.why)},
                          {"url", muster::http::redacted(batch->records[i].url)},
                          {"message", f.message}};
        inv.log().warn("record failed " + json::serialize(line));
    }
    json::object summary{{"records", record_count},
                         {"succeeded", succeeded},
                         {"failed", record_count - succeeded},
                         {"rows_committed", commit_error ? 0 : row_count},
                         {"thumbnails_removed", removed},
                         {"commit_ms", std::llround(commit_ms)}};
    if (commit_error) summary["commit_error"] = *commit_error;
    if (self->pool) summary["workers_started"] = self->pool->workers_started();
    inv.log().info("batch done " + json::serialize(summary));
    if (lines) lines->batch_ended(items, commit_error, removed);

    co_return commit_error ? all_failed(r) : json::value_from(r);
}

}  // namespace

}  // namespace thumbnails
