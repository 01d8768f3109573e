/// @file
/// `muster::aws::config`: credentials, region and endpoints, read the way
/// Lambda and AWS's SDKs provide them.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <muster/core/options.hpp>
#include <muster/core/stable_string.hpp>

namespace muster::aws {

/// An access key pair, with the session token of temporary credentials
/// (always present on Lambda).
///
/// Its fields are `muster::stable_string`s, so credentials written inline
/// in a `co_await` expression survive GCC 12 (see the README's compiler
/// section); each distinct key stays in memory until the program ends, as
/// it does in the environment it usually comes from.
///
/// Thread-safety: a plain value type.
struct credentials {
    muster::stable_string access_key_id;
    muster::stable_string secret_access_key;
    /// Sent as `X-Amz-Security-Token` when not empty.
    muster::stable_string session_token;
};

/// What every AWS client of muster needs: whom to sign as, where, and how
/// hard to retry.
///
/// Endpoints: a service's endpoint is the first non-empty of its own
/// override (`s3_endpoint`, `dynamodb_endpoint`), `endpoint`, and AWS's
/// public endpoint for `region` (`https://s3.<region>.amazonaws.com`,
/// `https://dynamodb.<region>.amazonaws.com`). An override is a base URL,
/// `http://127.0.0.1:4569` for a local stand-in.
///
/// Retries: `retry` is the core's `muster::retry_policy`, applied by
/// `s3` and `dynamodb` to throttling errors (`ThrottlingException`,
/// `ProvisionedThroughputExceededException`, `SlowDown`, HTTP 429...), 5xx
/// responses and failed connections, with full-jitter backoff and never past
/// the deadline of the calling scope. The default makes 3 attempts, starting
/// at 50 ms, as AWS's SDKs do in their standard mode.
///
/// Safe to write inline, even inside a `co_await` expression under GCC 12
/// (`muster::aws::s3 s3{muster::http::client{co_await
/// asio::this_coro::executor, {}}, {.region = "eu-west-1"}};`): its strings
/// are `muster::stable_string`s. The exception is a `retry.retry_if`
/// holding a callable with captures that own memory: name such a
/// configuration before the `co_await`.
///
/// Thread-safety: a plain value type.
///
/// @code
/// auto cfg = muster::aws::config::from_env();
/// cfg.retry.attempts = 5;
/// @endcode
struct config {
    aws::credentials credentials;
    /// The region requests are signed for and public endpoints are in.
    muster::stable_string region = "us-east-1";
    /// Base URL for every service (`AWS_ENDPOINT_URL`); empty: AWS's own.
    muster::stable_string endpoint;
    /// Base URL for S3 (`AWS_ENDPOINT_URL_S3`); empty: `endpoint`.
    muster::stable_string s3_endpoint;
    /// Base URL for DynamoDB (`AWS_ENDPOINT_URL_DYNAMODB`); empty: `endpoint`.
    muster::stable_string dynamodb_endpoint;
    /// Always address buckets by path (`endpoint/bucket/key`). Path style is
    /// used anyway with an endpoint override, an IP address, or a bucket
    /// name that cannot be a host name.
    bool s3_force_path_style = false;
    /// How throttled and failed calls are retried (see above).
    muster::retry_policy retry{
        3, std::chrono::milliseconds(50), std::chrono::seconds(20), 2.0, {}, true};

    /// A configuration from the environment, as Lambda sets it:
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
    /// the region from `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
    /// `us-east-1`; endpoint overrides from `AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL_DYNAMODB` unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
    ///
    /// Errors: throws `std::invalid_argument` naming the variable when the
    /// access key or the secret key is missing or empty, or when an endpoint
    /// override is not an http:// or https:// URL.
    static config from_env();

    /// The same, reading variables through `lookup` (`std::nullopt` or an
    /// empty value: unset) instead of the process environment: for a
    /// function that takes its settings from elsewhere, and for tests.
    static config from_env(
        const std::function<std::optional<std::string>(std::string_view name)>& lookup);

    /// The base URL (scheme, host, optional port, no trailing slash) of
    /// `service` (`"s3"` or `"dynamodb"`; other names get AWS's
    /// `https://<service>.<region>.amazonaws.com`).
    std::string endpoint_for(std::string_view service) const;

    /// True when `service` goes to an override rather than to AWS.
    bool has_endpoint_override(std::string_view service) const;
};

}  // namespace muster::aws
