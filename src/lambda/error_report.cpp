#include "error_report.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <muster/lambda/errors.hpp>

namespace muster::lambda::detail {

namespace {

std::string demangle(const char* name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                               std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(name);
}

}  // namespace

error_report describe_current_exception() {
    error_report r;
    const std::type_info* type = abi::__cxa_current_exception_type();
    r.type = type ? demangle(type->name()) : "unknown";
    try {
        throw;
    } catch (const function_error& e) {
        r.type = e.error_type();
        r.message = e.what();
    } catch (const std::exception& e) {
        r.message = e.what();
    } catch (...) {
        r.message = "an exception of type " + r.type + " (not derived from std::exception)";
    }
    return r;
}

std::string error_body(const error_report& e) {
    return boost::json::serialize(boost::json::object{
        {"errorMessage", e.message}, {"errorType", e.type}, {"stackTrace", boost::json::array{}}});
}

}  // namespace muster::lambda::detail
