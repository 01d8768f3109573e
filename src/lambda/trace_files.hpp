// MUSTER_TRACE: each invocation's spans, recorded by its scopes and written
// as a Chrome trace (`<request id>.trace.json`) and a page
// (`<request id>.html`) once the invocation is done.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <muster/core/outcome.hpp>
#include <muster/core/trace.hpp>
#include <muster/lambda/invocation.hpp>

namespace muster::lambda::detail {

struct runtime_config;

/// The recorder for an invocation that started at `received`, stamped with
/// its request id and the function's name; null when `config` asks for no
/// trace.
std::shared_ptr<trace::recorder> start_trace(const runtime_config& config,
                                             std::string_view request_id,
                                             clock::time_point received);

/// Writes `rec` into `directory` under `inv`'s request id (made safe as a
/// file name), each file through a temporary renamed into place. Failures
/// are logged on `inv`'s logger, never thrown.
void write_trace(const std::string& directory, const trace::recorder& rec, const invocation& inv);

}  // namespace muster::lambda::detail
