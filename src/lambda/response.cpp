#include <muster/lambda/response.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace muster::lambda {

response response::json(const boost::json::value& value) {
    return response{boost::json::serialize(value), "application/json"};
}

}  // namespace muster::lambda
