#include <muster/lambda/events/sns.hpp>

#include "json_fields.hpp"

namespace muster::lambda {

namespace {

using detail::reader;

sns_record read_record(const reader& r) {
    sns_record rec;
    rec.event_version = r.str_or_empty("EventVersion");
    rec.event_subscription_arn = r.str_or_empty("EventSubscriptionArn");
    rec.event_source = r.str_or_empty("EventSource");
    const reader s = r.obj("Sns");
    sns_message& m = rec.sns;
    m.type = s.str_or_empty("Type");
    m.message_id = s.str("MessageId");
    m.topic_arn = s.str_or_empty("TopicArn");
    m.subject = s.opt_str("Subject");
    m.message = s.str("Message");
    m.timestamp = s.str_or_empty("Timestamp");
    m.signature_version = s.str_or_empty("SignatureVersion");
    m.signature = s.str_or_empty("Signature");
    m.signing_cert_url = s.str_or_empty("SigningCertUrl");
    m.unsubscribe_url = s.str_or_empty("UnsubscribeUrl");
    m.message_attributes = s.obj_map("MessageAttributes", [](const reader& a) {
        return sns_message_attribute{a.str_or_empty("Type"), a.str_or_empty("Value")};
    });
    return rec;
}

boost::json::object write_record(const sns_record& rec) {
    namespace json = boost::json;
    const sns_message& m = rec.sns;
    json::object attrs;
    for (const auto& [name, a] : m.message_attributes)
        attrs[name] = json::object{{"Type", a.type}, {"Value", a.value}};
    json::object s{{"SignatureVersion", m.signature_version},
                   {"Timestamp", m.timestamp},
                   {"Signature", m.signature},
                   {"SigningCertUrl", m.signing_cert_url},
                   {"MessageId", m.message_id},
                   {"Message", m.message},
                   {"MessageAttributes", std::move(attrs)},
                   {"Type", m.type},
                   {"UnsubscribeUrl", m.unsubscribe_url},
                   {"TopicArn", m.topic_arn}};
    s["Subject"] = m.subject ? json::value(*m.subject) : json::value(nullptr);
    return json::object{{"EventVersion", rec.event_version},
                        {"EventSubscriptionArn", rec.event_subscription_arn},
                        {"EventSource", rec.event_source},
                        {"Sns", std::move(s)}};
}

}  // namespace

sns_record tag_invoke(boost::json::value_to_tag<sns_record>, const boost::json::value& v) {
    return read_record(reader(v, ""));
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sns_record& r) {
    v = write_record(r);
}
sns_event tag_invoke(boost::json::value_to_tag<sns_event>, const boost::json::value& v) {
    return sns_event{reader(v, "").list("Records", read_record)};
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sns_event& e) {
    boost::json::array records;
    for (const auto& r : e.records) records.emplace_back(write_record(r));
    v = boost::json::object{{"Records", std::move(records)}};
}

}  // namespace muster::lambda
