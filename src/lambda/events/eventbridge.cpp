#include <muster/lambda/events/eventbridge.hpp>

#include "json_fields.hpp"

namespace muster::lambda {

eventbridge_event tag_invoke(boost::json::value_to_tag<eventbridge_event>,
                             const boost::json::value& v) {
    const detail::reader r(v, "");
    eventbridge_event e;
    e.version = r.str_or_empty("version");
    e.id = r.str_or_empty("id");
    e.detail_type = r.str("detail-type");
    e.source = r.str("source");
    e.account = r.str_or_empty("account");
    e.time = r.str_or_empty("time");
    e.region = r.str_or_empty("region");
    e.resources = r.str_list("resources");
    e.detail = r.raw("detail");
    e.replay_name = r.str_or_empty("replay-name");
    return e;
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const eventbridge_event& e) {
    boost::json::object o{{"version", e.version},
                          {"id", e.id},
                          {"detail-type", e.detail_type},
                          {"source", e.source},
                          {"account", e.account},
                          {"time", e.time},
                          {"region", e.region},
                          {"resources", detail::to_array(e.resources)},
                          {"detail", e.detail}};
    if (!e.replay_name.empty()) o["replay-name"] = e.replay_name;
    v = std::move(o);
}

}  // namespace muster::lambda
