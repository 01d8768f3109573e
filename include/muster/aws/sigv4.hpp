/// @file
/// AWS Signature Version 4: signing requests in the `Authorization` header
/// and presigning URLs.
///
/// The functions here are pure (no I/O, no shared state): call them from any
/// thread. `s3` and `dynamodb` sign for you; these are for other services and
/// for checking a signature.
///
/// @code
/// muster::aws::signing_params p;
/// p.credentials = cfg.credentials;
/// p.region = cfg.region;
/// p.service = "sqs";
/// muster::http::request r;
/// r.method = "POST";
/// r.url = "https://sqs.eu-west-1.amazonaws.com/";
/// r.body = "Action=ListQueues";
/// muster::aws::sign(r, p);   // last, after every header is set
/// auto response = co_await client.request(std::move(r));
/// @endcode
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <muster/aws/config.hpp>
#include <muster/http/headers.hpp>
#include <muster/http/request.hpp>

namespace muster::aws {

/// The payload hash S3 accepts in place of the body's SHA-256.
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

/// What a signature is made for, and the canonicalisation rules of the
/// service.
///
/// The canonical URI is the request's path as it goes on the wire, encoded
/// once more (`double_uri_encode`) after removing `.` and `..` segments and
/// empty segments (`normalize_path`): the rules of every service but S3.
/// S3 signs the path exactly as sent: turn both off (what `s3` does).
///
/// Thread-safety: a plain value type.
struct signing_params {
    aws::credentials credentials;
    std::string region;
    /// The signing name of the service: `"s3"`, `"dynamodb"`...
    std::string service;
    /// The signing time (`X-Amz-Date` and the credential scope's date).
    std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
    bool normalize_path = true;
    bool double_uri_encode = true;
    /// The hex SHA-256 of the payload, or `unsigned_payload`; empty: the
    /// SHA-256 of the request's body (of no body for a presigned URL).
    std::string payload_hash;
    /// Send the payload hash as `X-Amz-Content-Sha256` (S3 requires it).
    bool content_sha256_header = false;
};

/// The intermediate results of a signature, for tests and diagnostics
/// (what AWS's `SignatureDoesNotMatch` errors show is `canonical_request`).
struct signature_parts {
    std::string canonical_request;
    std::string string_to_sign;
    /// Lower-case names, sorted, `;`-separated: `host;x-amz-date`.
    std::string signed_headers;
    /// Hex HMAC-SHA256 of `string_to_sign`.
    std::string signature;
    /// The `Authorization` header value.
    std::string authorization;
};

/// Signs `r` in place: sets `X-Amz-Date`, `X-Amz-Security-Token` (with a
/// session token), `X-Amz-Content-Sha256` (when asked) and `Authorization`.
/// Every header of `r` is signed, plus `Host` as the client will send it
/// (from `r.url`), except those proxies and clients may change:
/// `Authorization`, `User-Agent`, `X-Amzn-Trace-Id`, `Expect`, `Connection`,
/// `Transfer-Encoding` and the like. Sign last: a header added afterwards is
/// not covered, and a changed one breaks the signature.
///
/// Errors: `muster::http::error` (`invalid_url`) for a URL that does not
/// parse.
signature_parts sign(http::request& r, const signing_params& p);

/// The signature of a request given by its parts: `target` is the path and
/// query as on the request line, `headers` are the ones to sign (including
/// `Host` and `X-Amz-Date`; nothing is added or left out). This is the
/// signer's core, exposed so that AWS's published test vectors can be fed
/// to it as they are written.
signature_parts signature_of(std::string_view method, std::string_view target,
                             const http::headers& headers, std::string_view payload_hash,
                             const signing_params& p);

/// A presigned URL: `url` with the `X-Amz-*` query parameters that let
/// anyone holding it make this `method` request until `expires` (at most 7
/// days) after `p.time`, without credentials. Only `Host` is signed. S3
/// URLs use `p.payload_hash = unsigned_payload` (what `s3` does).
///
/// Errors: `std::invalid_argument` for an `expires` outside 1 s .. 7 days;
/// `muster::http::error` (`invalid_url`) for a URL that does not parse.
std::string presign(std::string_view method, std::string_view url, const signing_params& p,
                    std::chrono::seconds expires);

/// Percent-encodes every byte but `A-Z a-z 0-9 - . _ ~` (and `/` when
/// `keep_slash`), with upper-case hex: SigV4's URI encoding.
std::string uri_encode(std::string_view s, bool keep_slash);

/// The lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace muster::aws
