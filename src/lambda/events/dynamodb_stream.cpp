#include <muster/lambda/events/dynamodb_stream.hpp>

#include "json_fields.hpp"

namespace muster::lambda {

namespace {

using detail::reader;
namespace json = boost::json;

dynamodb_stream_record read_record(const reader& r) {
    dynamodb_stream_record rec;
    rec.event_id = r.str_or_empty("eventID");
    rec.event_name = r.str("eventName");
    rec.event_version = r.str_or_empty("eventVersion");
    rec.event_source = r.str_or_empty("eventSource");
    rec.aws_region = r.str_or_empty("awsRegion");
    const reader d = r.obj("dynamodb");
    auto& data = rec.dynamodb;
    data.approximate_creation_date_time = d.opt_double("ApproximateCreationDateTime");
    data.keys = d.opt_raw_obj("Keys").value_or(json::object{});
    data.new_image = d.opt_raw_obj("NewImage");
    data.old_image = d.opt_raw_obj("OldImage");
    data.sequence_number = d.str("SequenceNumber");
    data.size_bytes = d.opt_int64("SizeBytes");
    data.stream_view_type = d.str_or_empty("StreamViewType");
    rec.event_source_arn = r.str_or_empty("eventSourceARN");
    rec.user_identity = r.opt_raw_obj("userIdentity");
    return rec;
}

json::object write_record(const dynamodb_stream_record& rec) {
    const auto& data = rec.dynamodb;
    json::object d;
    detail::put_opt_num(d, "ApproximateCreationDateTime", data.approximate_creation_date_time);
    d["Keys"] = data.keys;
    if (data.new_image) d["NewImage"] = *data.new_image;
    if (data.old_image) d["OldImage"] = *data.old_image;
    d["SequenceNumber"] = data.sequence_number;
    detail::put_opt_num(d, "SizeBytes", data.size_bytes);
    d["StreamViewType"] = data.stream_view_type;
    json::object o{{"eventID", rec.event_id},
                   {"eventName", rec.event_name},
                   {"eventVersion", rec.event_version},
                   {"eventSource", rec.event_source},
                   {"awsRegion", rec.aws_region},
                   {"dynamodb", std::move(d)},
                   {"eventSourceARN", rec.event_source_arn}};
    if (rec.user_identity) o["userIdentity"] = *rec.user_identity;
    return o;
}

}  // namespace

dynamodb_stream_record tag_invoke(json::value_to_tag<dynamodb_stream_record>,
                                  const json::value& v) {
    return read_record(reader(v, ""));
}
void tag_invoke(json::value_from_tag, json::value& v, const dynamodb_stream_record& r) {
    v = write_record(r);
}
dynamodb_stream_event tag_invoke(json::value_to_tag<dynamodb_stream_event>, const json::value& v) {
    return dynamodb_stream_event{reader(v, "").list("Records", read_record)};
}
void tag_invoke(json::value_from_tag, json::value& v, const dynamodb_stream_event& e) {
    json::array records;
    for (const auto& r : e.records) records.emplace_back(write_record(r));
    v = json::object{{"Records", std::move(records)}};
}

}  // namespace muster::lambda
