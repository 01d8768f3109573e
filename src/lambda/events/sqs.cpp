#include <muster/lambda/events/sqs.hpp>

#include <charconv>

#include "json_fields.hpp"

namespace muster::lambda {

namespace {

using detail::reader;

sqs_message_attribute read_attribute(const reader& r) {
    sqs_message_attribute a;
    a.data_type = r.str_or_empty("dataType");
    a.string_value = r.opt_str("stringValue");
    a.binary_value = r.opt_str("binaryValue");
    a.string_list_values = r.str_list("stringListValues");
    a.binary_list_values = r.str_list("binaryListValues");
    return a;
}

boost::json::object write_attribute(const sqs_message_attribute& a) {
    boost::json::object o;
    detail::put_opt(o, "stringValue", a.string_value);
    detail::put_opt(o, "binaryValue", a.binary_value);
    o["stringListValues"] = detail::to_array(a.string_list_values);
    o["binaryListValues"] = detail::to_array(a.binary_list_values);
    o["dataType"] = a.data_type;
    return o;
}

sqs_message read_message(const reader& r) {
    sqs_message m;
    m.message_id = r.str("messageId");
    m.receipt_handle = r.str_or_empty("receiptHandle");
    m.body = r.str("body");
    m.attributes = r.str_map("attributes");
    m.message_attributes = r.obj_map("messageAttributes", read_attribute);
    m.md5_of_body = r.str_or_empty("md5OfBody");
    m.md5_of_message_attributes = r.opt_str("md5OfMessageAttributes");
    m.event_source = r.str_or_empty("eventSource");
    m.event_source_arn = r.str_or_empty("eventSourceARN");
    m.aws_region = r.str_or_empty("awsRegion");
    return m;
}

boost::json::object write_message(const sqs_message& m) {
    boost::json::object o;
    o["messageId"] = m.message_id;
    o["receiptHandle"] = m.receipt_handle;
    o["body"] = m.body;
    o["attributes"] = detail::to_object(m.attributes);
    boost::json::object attrs;
    for (const auto& [name, a] : m.message_attributes) attrs[name] = write_attribute(a);
    o["messageAttributes"] = std::move(attrs);
    o["md5OfBody"] = m.md5_of_body;
    detail::put_opt(o, "md5OfMessageAttributes", m.md5_of_message_attributes);
    o["eventSource"] = m.event_source;
    o["eventSourceARN"] = m.event_source_arn;
    o["awsRegion"] = m.aws_region;
    return o;
}

}  // namespace

std::optional<std::string_view> sqs_message::attribute(std::string_view name) const {
    auto it = attributes.find(name);
    if (it == attributes.end()) return std::nullopt;
    return std::string_view(it->second);
}

std::optional<std::uint64_t> sqs_message::approximate_receive_count() const {
    auto s = attribute("ApproximateReceiveCount");
    if (!s) return std::nullopt;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec != std::errc{} || end != s->data() + s->size() || s->empty()) {
        throw event_error("attributes.ApproximateReceiveCount",
                          "expected a decimal number, got \"" + std::string(*s) + "\"");
    }
    return n;
}

sqs_message_attribute tag_invoke(boost::json::value_to_tag<sqs_message_attribute>,
                                 const boost::json::value& v) {
    return read_attribute(reader(v, ""));
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v,
                const sqs_message_attribute& a) {
    v = write_attribute(a);
}
sqs_message tag_invoke(boost::json::value_to_tag<sqs_message>, const boost::json::value& v) {
    return read_message(reader(v, ""));
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sqs_message& m) {
    v = write_message(m);
}
sqs_event tag_invoke(boost::json::value_to_tag<sqs_event>, const boost::json::value& v) {
    return sqs_event{reader(v, "").list("Records", read_message)};
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sqs_event& e) {
    boost::json::array records;
    records.reserve(e.records.size());
    for (const auto& m : e.records) records.emplace_back(write_message(m));
    v = boost::json::object{{"Records", std::move(records)}};
}

}  // namespace muster::lambda
