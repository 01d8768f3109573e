/// @file
/// muster's Lambda runtime: everything a function's `main` needs.
///
/// @code
/// #include <muster/lambda.hpp>
/// int main() { return muster::lambda::run(handler); }
/// @endcode
#pragma once

#include <muster/muster.hpp>

#include <muster/lambda/errors.hpp>
#include <muster/lambda/invocation.hpp>
#include <muster/lambda/log.hpp>
#include <muster/lambda/response.hpp>
#include <muster/lambda/run.hpp>
