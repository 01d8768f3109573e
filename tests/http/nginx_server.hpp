/// @file
/// Debian's nginx as a real web server for the client's tests: started on
/// free ports of 127.0.0.1 with a generated configuration, serving files over
/// HTTP and over HTTPS with certificates that `openssl` makes for the test (a
/// CA, a valid server certificate, one for another host name, an expired
/// one). Its access log records the connection serial number of every
/// request, so tests observe connection reuse from the server's side.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace muster_test {

class nginx_server {
  public:
    /// Generates the files and starts nginx; throws `std::runtime_error`
    /// with nginx's or openssl's output when that fails.
    nginx_server();
    ~nginx_server();
    nginx_server(const nginx_server&) = delete;
    nginx_server& operator=(const nginx_server&) = delete;

    /// Plain HTTP.
    std::string http_url(const std::string& path) const;
    /// HTTPS with a certificate for 127.0.0.1 and localhost, signed by `ca_file()`.
    std::string https_url(const std::string& path, const std::string& host = "127.0.0.1") const;
    /// HTTPS with a certificate (signed by the CA) for another host name only.
    std::string wrong_host_url(const std::string& path) const;
    /// HTTPS with an expired certificate (signed by the CA) for 127.0.0.1.
    std::string expired_url(const std::string& path) const;

    /// The test CA's certificate (PEM file).
    std::string ca_file() const { return dir_ + "/ca.pem"; }
    /// Its content.
    std::string ca_pem() const;

    /// The distinct connections nginx served requests whose URI contains
    /// `tag`, as its access log tells.
    std::size_t connections_for(const std::string& tag) const;
    /// Requests nginx logged whose URI contains `tag`.
    std::size_t requests_for(const std::string& tag) const;
    /// `requests_for(tag)` once it reaches `n` (nginx logs a request just
    /// after answering it), or after two seconds.
    std::size_t wait_for_requests(const std::string& tag, std::size_t n) const;

    /// The content of `/small.txt` (10 KB) and the size of `/big.bin`.
    static std::string small_body();
    static constexpr std::size_t big_size = 3u << 20;

  private:
    void start();
    void stop() noexcept;

    std::string dir_;
    std::uint16_t http_port_ = 0;
    std::uint16_t https_port_ = 0;
    std::uint16_t wrong_port_ = 0;
    std::uint16_t expired_port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace muster_test
