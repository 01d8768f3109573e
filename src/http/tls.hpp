// TLS set-up for muster::http: the client context (CA bundle, extra CAs,
// verification) and the per-connection SNI and host-name check. Internal.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <muster/http/options.hpp>

typedef struct ssl_st SSL;

namespace muster::http::detail {

/// The client context for `o`. Throws `muster::http::error` (`tls`) when a
/// CA file or PEM that `o` (or `SSL_CERT_FILE`) names cannot be loaded;
/// `url` is only for the message.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const options& o,
                                                            const std::string& url);

/// Sets SNI (for names, not addresses) and the host name or IP address the
/// certificate must match.
void prepare_tls(SSL* ssl, const std::string& host, bool verify);

/// A one-line explanation of a failed handshake: the certificate
/// verification result when verification failed, else `ec`'s message.
std::string describe_tls_failure(SSL* ssl, const boost::system::error_code& ec);

}  // namespace muster::http::detail
