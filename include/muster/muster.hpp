/// @file
/// The umbrella header of muster's core: gather, as_completed, with_group,
/// deadlines, offload, from_callback and traces.
#pragma once

#include <muster/core/as_completed.hpp>
#include <muster/core/errors.hpp>
#include <muster/core/from_callback.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/group.hpp>
#include <muster/core/ledger.hpp>
#include <muster/core/offload.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/results.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/sleep.hpp>
#include <muster/core/status.hpp>
#include <muster/core/time_source.hpp>
#include <muster/core/trace.hpp>
#include <muster/core/trace_html.hpp>
#include <muster/core/trace_json.hpp>
