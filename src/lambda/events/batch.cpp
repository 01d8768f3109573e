#include <muster/lambda/batch.hpp>

#include <stdexcept>
#include <unordered_map>

#include <boost/json/serialize.hpp>

#include <muster/core/errors.hpp>
#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

batch_response::batch_response(std::vector<batch_item> items) : items_(std::move(items)) {
    for (std::size_t i = 0; i < items_.size(); ++i) {
        if (items_[i].item_identifier.empty()) {
            throw std::invalid_argument("muster::lambda::batch_response: item " +
                                        std::to_string(i) + " has an empty item identifier");
        }
    }
}

std::vector<std::string_view> batch_response::failed_item_identifiers() const {
    std::vector<std::string_view> out;
    for (const auto& item : items_)
        if (!item.result.ok()) out.emplace_back(item.item_identifier);
    return out;
}

std::size_t batch_response::failure_count() const noexcept {
    std::size_t n = 0;
    for (const auto& item : items_) n += item.result.ok() ? 0 : 1;
    return n;
}

std::size_t batch_response::count(status s) const noexcept {
    std::size_t n = 0;
    for (const auto& item : items_) n += item.result.status() == s ? 1 : 0;
    return n;
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const batch_response& r) {
    boost::json::array failures;
    for (const auto& item : r.items()) {
        if (!item.result.ok())
            failures.emplace_back(boost::json::object{{"itemIdentifier", item.item_identifier}});
    }
    v = boost::json::object{{"batchItemFailures", std::move(failures)}};
}

namespace detail {

outcome<void> not_run(std::string why) {
    return outcome<void>::with_error(status::not_started,
                                     std::make_exception_ptr(not_started_error(std::move(why))));
}

namespace {

/// Lambda matches failures by identifier: a record without one cannot be reported, and
/// leaving it out would report it processed. Failing the whole batch (it is retried) is the
/// only safe answer, and it must happen before anything runs.
void require_id(const std::string& id, std::size_t i, std::string_view path) {
    if (id.empty()) {
        throw event_error("Records[" + std::to_string(i) + "]." + std::string(path),
                          "empty: a failure of this record could not be reported, so the whole "
                          "batch fails and is retried");
    }
}

}  // namespace

batch_plan plan_for(const sqs_event& e) {
    batch_plan p;
    p.id_field = "messageId";
    p.group_field = "message group";
    p.ids.reserve(e.records.size());
    for (std::size_t i = 0; i < e.records.size(); ++i) {
        const auto& m = e.records[i];
        require_id(m.message_id, i, "messageId");
        p.ids.push_back(m.message_id);
        auto g = m.message_group_id();
        p.groups.push_back(g ? std::optional<std::string>(*g) : std::nullopt);
    }
    return p;
}

batch_plan plan_for(const kinesis_event& e) {
    batch_plan p;
    p.id_field = "sequenceNumber";
    p.group_field = "partition key";
    for (std::size_t i = 0; i < e.records.size(); ++i) {
        const auto& r = e.records[i];
        require_id(r.kinesis.sequence_number, i, "kinesis.sequenceNumber");
        p.ids.push_back(r.kinesis.sequence_number);
        p.groups.emplace_back(r.kinesis.partition_key);
    }
    return p;
}

batch_plan plan_for(const dynamodb_stream_event& e) {
    batch_plan p;
    p.id_field = "SequenceNumber";
    p.group_field = "item";
    for (std::size_t i = 0; i < e.records.size(); ++i) {
        const auto& r = e.records[i];
        require_id(r.dynamodb.sequence_number, i, "dynamodb.SequenceNumber");
        p.ids.push_back(r.dynamodb.sequence_number);
        // Keys as sent: the records of one item carry the same Keys object.
        p.groups.push_back(r.dynamodb.keys.empty() ? std::nullopt
                                                   : std::optional<std::string>(
                                                         boost::json::serialize(r.dynamodb.keys)));
    }
    return p;
}

batch_schedule::batch_schedule(batch_plan p)
    : plan(std::move(p)),
      next_in_group(plan.ids.size(), -1),
      group_head(plan.ids.size(), true),
      skipped(plan.ids.size()) {
    std::unordered_map<std::string_view, std::size_t> last;
    for (std::size_t i = 0; i < plan.groups.size(); ++i) {
        if (!plan.groups[i]) continue;
        auto [it, first] = last.try_emplace(*plan.groups[i], i);
        if (!first) {
            next_in_group[it->second] = static_cast<std::ptrdiff_t>(i);
            group_head[i] = false;
            it->second = i;
        }
    }
    record_of_spawn.reserve(plan.ids.size());
}

std::ptrdiff_t batch_schedule::after(std::size_t record, bool ok) {
    const std::ptrdiff_t next = next_in_group[record];
    if (ok || next < 0) return next;
    const std::string why = "muster::lambda::process_batch: not run: record " +
                            std::to_string(record) + " (" + plan.id_field + " " + plan.ids[record] +
                            ") of the same " + plan.group_field + " (" + *plan.groups[record] +
                            ") did not succeed before it";
    for (std::ptrdiff_t j = next; j >= 0; j = next_in_group[static_cast<std::size_t>(j)])
        skipped[static_cast<std::size_t>(j)] = why;
    return -1;
}

batch_response batch_schedule::finish(results<void> r) {
    std::vector<std::optional<std::size_t>> spawn_of(plan.ids.size());
    for (std::size_t s = 0; s < record_of_spawn.size() && s < r.size(); ++s)
        spawn_of[record_of_spawn[s]] = s;
    std::vector<batch_item> items;
    items.reserve(plan.ids.size());
    for (std::size_t i = 0; i < plan.ids.size(); ++i) {
        batch_item item{std::move(plan.ids[i]), {}};
        if (spawn_of[i]) {
            item.result = std::move(r[*spawn_of[i]]);
        } else if (skipped[i]) {
            item.result = not_run(std::move(*skipped[i]));
        } else {
            item.result = not_run(
                "muster::lambda::process_batch: not run: the batch stopped (deadline, "
                "cancellation or policy) before this record's turn");
        }
        items.push_back(std::move(item));
    }
    return batch_response(std::move(items));
}

}  // namespace detail
}  // namespace muster::lambda
