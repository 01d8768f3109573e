/// @file
/// The umbrella header of `muster::process_pool`: crash-isolated worker
/// processes (link `muster::process_pool`).
#pragma once

#include <muster/process_pool/errors.hpp>
#include <muster/process_pool/process_pool.hpp>
#include <muster/process_pool/work.hpp>
