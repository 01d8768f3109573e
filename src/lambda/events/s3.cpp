#include <muster/lambda/events/s3.hpp>

#include <stdexcept>

#include "json_fields.hpp"

namespace muster::lambda {

namespace {

using detail::reader;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

s3_event_record read_record(const reader& r) {
    s3_event_record rec;
    rec.event_version = r.str_or_empty("eventVersion");
    rec.event_source = r.str_or_empty("eventSource");
    rec.aws_region = r.str_or_empty("awsRegion");
    rec.event_time = r.str_or_empty("eventTime");
    rec.event_name = r.str("eventName");
    if (auto u = r.opt_obj("userIdentity")) rec.principal_id = u->str_or_empty("principalId");
    if (auto p = r.opt_obj("requestParameters"))
        rec.source_ip_address = p->str_or_empty("sourceIPAddress");
    if (auto e = r.opt_obj("responseElements")) {
        rec.request_id = e->str_or_empty("x-amz-request-id");
        rec.host_id = e->str_or_empty("x-amz-id-2");
    }
    const reader s3 = r.obj("s3");
    rec.schema_version = s3.str_or_empty("s3SchemaVersion");
    rec.configuration_id = s3.str_or_empty("configurationId");
    const reader b = s3.obj("bucket");
    rec.bucket.name = b.str("name");
    rec.bucket.arn = b.str_or_empty("arn");
    if (auto o = b.opt_obj("ownerIdentity"))
        rec.bucket.owner_principal_id = o->str_or_empty("principalId");
    const reader o = s3.obj("object");
    rec.object.key = o.str("key");
    rec.object.size = o.opt_int64("size");
    rec.object.e_tag = o.opt_str("eTag");
    rec.object.version_id = o.opt_str("versionId");
    rec.object.sequencer = o.str_or_empty("sequencer");
    return rec;
}

boost::json::object write_record(const s3_event_record& rec) {
    namespace json = boost::json;
    json::object object{{"key", rec.object.key}, {"sequencer", rec.object.sequencer}};
    detail::put_opt_num(object, "size", rec.object.size);
    detail::put_opt(object, "eTag", rec.object.e_tag);
    detail::put_opt(object, "versionId", rec.object.version_id);
    json::object bucket{{"name", rec.bucket.name},
                        {"ownerIdentity", {{"principalId", rec.bucket.owner_principal_id}}},
                        {"arn", rec.bucket.arn}};
    json::object s3{{"s3SchemaVersion", rec.schema_version},
                    {"configurationId", rec.configuration_id},
                    {"bucket", std::move(bucket)},
                    {"object", std::move(object)}};
    return json::object{
        {"eventVersion", rec.event_version},
        {"eventSource", rec.event_source},
        {"awsRegion", rec.aws_region},
        {"eventTime", rec.event_time},
        {"eventName", rec.event_name},
        {"userIdentity", {{"principalId", rec.principal_id}}},
        {"requestParameters", {{"sourceIPAddress", rec.source_ip_address}}},
        {"responseElements", {{"x-amz-request-id", rec.request_id}, {"x-amz-id-2", rec.host_id}}},
        {"s3", std::move(s3)}};
}

}  // namespace

std::string url_decode_s3_key(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    for (std::size_t i = 0; i < key.size(); ++i) {
        const char c = key[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            const int hi = i + 1 < key.size() ? hex_value(key[i + 1]) : -1;
            const int lo = i + 2 < key.size() ? hex_value(key[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                throw std::invalid_argument(
                    "muster::lambda::url_decode_s3_key: '%' not followed by two hex digits at "
                    "offset " +
                    std::to_string(i));
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

s3_event_record tag_invoke(boost::json::value_to_tag<s3_event_record>,
                           const boost::json::value& v) {
    return read_record(reader(v, ""));
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const s3_event_record& r) {
    v = write_record(r);
}
s3_event tag_invoke(boost::json::value_to_tag<s3_event>, const boost::json::value& v) {
    return s3_event{reader(v, "").list("Records", read_record)};
}
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const s3_event& e) {
    boost::json::array records;
    for (const auto& r : e.records) records.emplace_back(write_record(r));
    v = boost::json::object{{"Records", std::move(records)}};
}

}  // namespace muster::lambda
