/// @file
/// muster's Lambda runtime: everything a function's `main` needs.
///
/// @code
/// #include <muster/lambda.hpp>
/// int main() { return muster::lambda::run(handler); }
/// @endcode
#pragma once

#include <muster/muster.hpp>

#include <muster/lambda/batch.hpp>
#include <muster/lambda/errors.hpp>
#include <muster/lambda/events/base64.hpp>
#include <muster/lambda/events/dynamodb_stream.hpp>
#include <muster/lambda/events/event_error.hpp>
#include <muster/lambda/events/eventbridge.hpp>
#include <muster/lambda/events/http_api.hpp>
#include <muster/lambda/events/kinesis.hpp>
#include <muster/lambda/events/s3.hpp>
#include <muster/lambda/events/sns.hpp>
#include <muster/lambda/events/sqs.hpp>
#include <muster/lambda/invocation.hpp>
#include <muster/lambda/log.hpp>
#include <muster/lambda/response.hpp>
#include <muster/lambda/response_stream.hpp>
#include <muster/lambda/run.hpp>
#include <muster/lambda/stream_completed.hpp>
