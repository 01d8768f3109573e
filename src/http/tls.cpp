#include "tls.hpp"

#include <cstdlib>
#include <filesystem>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>

#include <muster/http/error.hpp>

namespace muster::http::detail {

namespace ssl = boost::asio::ssl;

namespace {

/// The system CA bundle: `SSL_CERT_FILE` when set, else Debian's, else
/// Amazon Linux's (Lambda's). Empty when none exists.
std::string system_bundle() {
    if (const char* env = std::getenv("SSL_CERT_FILE"); env && *env) return env;
    for (const char* p :
         {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
        std::error_code ec;
        if (std::filesystem::exists(p, ec)) return p;
    }
    return {};
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const options& o, const std::string& url) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (o.verify_peer) {
        if (const std::string bundle = system_bundle(); !bundle.empty()) {
            ctx->load_verify_file(bundle, ec);
            if (ec)
                throw error(error_kind::tls, url,
                            "cannot load the CA bundle " + bundle + ": " + ec.message());
        }
    }
    if (!o.extra_ca_file.empty()) {
        ctx->load_verify_file(o.extra_ca_file, ec);
        if (ec)
            throw error(error_kind::tls, url,
                        "cannot load extra_ca_file " + o.extra_ca_file + ": " + ec.message());
    }
    if (!o.extra_ca_pem.empty()) {
        ctx->add_certificate_authority(boost::asio::buffer(o.extra_ca_pem.view()), ec);
        if (ec) throw error(error_kind::tls, url, "cannot load extra_ca_pem: " + ec.message());
    }
    ctx->set_verify_mode(o.verify_peer ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

void prepare_tls(SSL* s, const std::string& host, bool verify) {
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(host, not_ip);
    // SSL_set_tlsext_host_name, without the macro's C-style cast.
    if (not_ip)
        SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str()));
    if (!verify) return;
    X509_VERIFY_PARAM* param = SSL_get0_param(s);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (not_ip) {
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    }
}

std::string describe_tls_failure(SSL* s, const boost::system::error_code& ec) {
    if (s) {
        const long result = SSL_get_verify_result(s);
        if (result != X509_V_OK)
            return std::string("certificate verification failed: ") +
                   X509_verify_cert_error_string(result);
    }
    return ec.message();
}

}  // namespace muster::http::detail
