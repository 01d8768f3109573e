#include <muster/lambda/events/kinesis.hpp>

#include <muster/lambda/events/base64.hpp>

#include "json_fields.hpp"

namespace muster::lambda {

namespace {

using detail::reader;
namespace json = boost::json;

kinesis_record read_record(const reader& r) {
    kinesis_record rec;
    const reader k = r.obj("kinesis");
    rec.kinesis.schema_version = k.str_or_empty("kinesisSchemaVersion");
    rec.kinesis.partition_key = k.str("partitionKey");
    rec.kinesis.sequence_number = k.str("sequenceNumber");
    rec.kinesis.data = k.str("data");
    rec.kinesis.approximate_arrival_timestamp = k.opt_double("approximateArrivalTimestamp");
    rec.event_source = r.str_or_empty("eventSource");
    rec.event_version = r.str_or_empty("eventVersion");
    rec.event_id = r.str_or_empty("eventID");
    rec.event_name = r.str_or_empty("eventName");
    rec.invoke_identity_arn = r.str_or_empty("invokeIdentityArn");
    rec.aws_region = r.str_or_empty("awsRegion");
    rec.event_source_arn = r.str_or_empty("eventSourceARN");
    return rec;
}

json::object write_record(const kinesis_record& rec) {
    json::object k{{"kinesisSchemaVersion", rec.kinesis.schema_version},
                   {"partitionKey", rec.kinesis.partition_key},
                   {"sequenceNumber", rec.kinesis.sequence_number},
                   {"data", rec.kinesis.data}};
    detail::put_opt_num(k, "approximateArrivalTimestamp",
                        rec.kinesis.approximate_arrival_timestamp);
    return json::object{
        {"kinesis", std::move(k)},           {"eventSource", rec.event_source},
        {"eventVersion", rec.event_version}, {"eventID", rec.event_id},
        {"eventName", rec.event_name},       {"invokeIdentityArn", rec.invoke_identity_arn},
        {"awsRegion", rec.aws_region},       {"eventSourceARN", rec.event_source_arn}};
}

}  // namespace

std::string kinesis_record::decoded_data() const { return base64_decode(kinesis.data); }

kinesis_record tag_invoke(json::value_to_tag<kinesis_record>, const json::value& v) {
    return read_record(reader(v, ""));
}
void tag_invoke(json::value_from_tag, json::value& v, const kinesis_record& r) {
    v = write_record(r);
}
kinesis_event tag_invoke(json::value_to_tag<kinesis_event>, const json::value& v) {
    return kinesis_event{reader(v, "").list("Records", read_record)};
}
void tag_invoke(json::value_from_tag, json::value& v, const kinesis_event& e) {
    json::array records;
    for (const auto& r : e.records) records.emplace_back(write_record(r));
    v = json::object{{"Records", std::move(records)}};
}

}  // namespace muster::lambda
