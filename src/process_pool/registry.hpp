#pragma once

#include <optional>
#include <string_view>

#include <muster/process_pool/work.hpp>

namespace muster::detail {

// A copy of the function registered under `name`, if any.
std::optional<work_function> find_work(std::string_view name);

// Set once the program called process_pool::worker_main_if_requested, so a
// pool can tell that re-executing this program yields a worker.
bool worker_entry_called() noexcept;

}  // namespace muster::detail
