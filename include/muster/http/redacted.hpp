/// @file
/// `muster::http::redacted`: a URL as it may be logged, traced or put in an
/// error, without the credentials a presigned URL carries.
#pragma once

#include <string>
#include <string_view>

namespace muster::http {

/// `url` with the value of every credential-bearing query parameter replaced
/// by `REDACTED`, and the password of any user information (`user:pw@`) too.
/// Everything else (scheme, host, path, the other parameters, their order,
/// the fragment) is kept byte for byte, so the result still says which
/// object was asked for and, through `X-Amz-Date`/`X-Amz-Expires`/`Expires`,
/// until when the URL was valid.
///
/// A presigned URL is a bearer credential for its lifetime: whoever reads it
/// in a log can use it. muster passes every URL it prints through this
/// function: `muster::http::error` (its `what()` and `url()`), and the
/// thumbnail example's failure lines and trace labels.
///
/// The parameters redacted, compared without regard to case after
/// percent-decoding the name:
/// - AWS Signature Version 4: `X-Amz-Signature`, `X-Amz-Credential`,
///   `X-Amz-Security-Token`;
/// - AWS Signature Version 2 and Google's V2 signing: `Signature`,
///   `AWSAccessKeyId`, `GoogleAccessId`;
/// - Google Cloud Storage V4: `X-Goog-Signature`, `X-Goog-Credential`;
/// - CloudFront signed URLs: `Signature`, `Key-Pair-Id`;
/// - Azure shared access signatures: `sig`;
/// - OAuth 2.0 bearer tokens in the query (RFC 6750 §2.3): `access_token`.
/// Not redacted, because they grant nothing without a signature:
/// `X-Amz-Algorithm`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
/// `Expires`, `Policy`, and the SAS fields other than `sig`.
///
/// Any text is accepted, also one that is not a valid URL (an invalid URL is
/// named in its own error message): the query is what follows the first `?`
/// up to the first `#`, split at `&`.
///
/// Thread-safety: a pure function.
///
/// @code
/// muster::http::redacted("https://b.s3.amazonaws.com/k?X-Amz-Expires=900&X-Amz-Signature=ab12")
///     == "https://b.s3.amazonaws.com/k?X-Amz-Expires=900&X-Amz-Signature=REDACTED"
/// @endcode
std::string redacted(std::string_view url);

}  // namespace muster::http
