#include "nginx_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "test_server.hpp"

#ifndef MUSTER_NGINX
#define MUSTER_NGINX "nginx"
#endif
#ifndef MUSTER_OPENSSL
#define MUSTER_OPENSSL "openssl"
#endif

namespace muster_test {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Runs `openssl args` in `dir`; its output goes to `dir`/openssl.log, which
/// the error quotes.
void openssl(const std::string& dir, const std::string& args) {
    const std::string cmd =
        "cd '" + dir + "' && '" MUSTER_OPENSSL "' " + args + " >>openssl.log 2>&1 </dev/null";
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("openssl " + args + " failed:\n" +
                                 read_file(dir + "/openssl.log"));
}

bool accepts_connections(std::uint16_t port) {
    asio::io_context io;
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    return !ec;
}

constexpr const char* openssl_config = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = muster test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = expired_leaf
[any]
commonName = supplied
[expired_leaf]
subjectAltName = IP:127.0.0.1,DNS:localhost
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
)";

/// The CA, and three server certificates signed by it.
void make_certificates(const std::string& dir) {
    write_file(dir + "/openssl.cnf", openssl_config);
    write_file(dir + "/index.txt", "");
    write_file(dir + "/serial", "1000\n");
    write_file(dir + "/good.ext",
               "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
               "extendedKeyUsage=serverAuth\n");
    write_file(dir + "/wrong.ext",
               "subjectAltName=DNS:wrong.example.com\nbasicConstraints=CA:FALSE\n"
               "extendedKeyUsage=serverAuth\n");
    const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(dir, "req -x509 -config openssl.cnf -extensions v3_ca " + ec_key +
                     " -keyout ca.key -out ca.pem -days 30");
    for (const char* name : {"good", "wrong", "expired"}) {
        const std::string n = name;
        openssl(dir, "req -new -config openssl.cnf " + ec_key + " -keyout " + n + ".key -out " + n +
                         ".csr -subj /CN=" + (n == "wrong" ? "wrong.example.com" : "localhost"));
    }
    openssl(dir,
            "x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 "
            "-extfile good.ext -out good.pem");
    openssl(dir,
            "x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 "
            "-extfile wrong.ext -out wrong.pem");
    openssl(dir,
            "ca -batch -config openssl.cnf -cert ca.pem -keyfile ca.key -in expired.csr "
            "-out expired.pem -notext -startdate 20200101000000Z -enddate 20200201000000Z");
}

std::string ssl_server(std::uint16_t port, const std::string& dir, const std::string& cert) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    ssl_certificate " + dir + "/" + cert + ".pem;\n    ssl_certificate_key " +
           dir + "/" + cert + ".key;\n    root " + dir + "/www;\n  }\n";
}

}  // namespace

std::string nginx_server::small_body() {
    std::string s;
    s.reserve(10240);
    for (int i = 0; s.size() < 10240; ++i) s += "line " + std::to_string(i) + "\n";
    s.resize(10240);
    return s;
}

nginx_server::nginx_server() {
    std::string tmpl = (fs::temp_directory_path() / "muster-nginx-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    fs::create_directories(dir_ + "/www");
    fs::create_directories(dir_ + "/tmp");
    fs::create_directories(dir_ + "/logs");
    write_file(dir_ + "/www/small.txt", small_body());
    write_file(dir_ + "/www/big.bin", std::string(big_size, 'b'));
    make_certificates(dir_);
    // Free ports can be taken between the check and nginx's bind: retry.
    for (int attempt = 0;; ++attempt) {
        try {
            start();
            return;
        } catch (const std::exception&) {
            stop();
            if (attempt == 4) {
                fs::remove_all(dir_);
                throw;
            }
        }
    }
}

void nginx_server::start() {
    http_port_ = unused_port();
    https_port_ = unused_port();
    wrong_port_ = unused_port();
    expired_port_ = unused_port();
    std::string conf;
    // As root, nginx's workers would switch to an unprivileged user that
    // cannot read the private temporary directory.
    if (::geteuid() == 0) conf += "user root;\n";
    conf += "worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n";
    conf += "  default_type application/octet-stream;\n";
    conf += "  log_format conn '$connection $connection_requests $server_port $request_uri';\n";
    conf += "  access_log " + dir_ + "/access.log conn;\n";
    for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
        conf += std::string("  ") + t + "_temp_path " + dir_ + "/tmp/" + t + ";\n";
    conf += "  keepalive_requests 10000;\n  keepalive_timeout 60s;\n";
    conf += "  gzip on;\n  gzip_min_length 0;\n  gzip_types application/octet-stream;\n";
    conf += "  server {\n    listen 127.0.0.1:" + std::to_string(http_port_) + ";\n    root " +
            dir_ + "/www;\n  }\n";
    conf += ssl_server(https_port_, dir_, "good");
    conf += ssl_server(wrong_port_, dir_, "wrong");
    conf += ssl_server(expired_port_, dir_, "expired");
    conf += "}\n";
    write_file(dir_ + "/nginx.conf", conf);

    const std::string log = dir_ + "/nginx.log";
    const std::string globals = "daemon off; pid " + dir_ + "/nginx.pid; error_log stderr;";
    const std::string conf_file = dir_ + "/nginx.conf";
    // Nothing allocates in the child between fork and exec.
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::execl(MUSTER_NGINX, MUSTER_NGINX, "-e", "stderr", "-p", dir_.c_str(), "-c",
                conf_file.c_str(), "-g", globals.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("nginx exited at start:\n" + read_file(log));
        }
        if (accepts_connections(http_port_) && accepts_connections(https_port_) &&
            accepts_connections(wrong_port_) && accepts_connections(expired_port_))
            return;
        if (std::chrono::steady_clock::now() > give_up)
            throw std::runtime_error("nginx did not start listening:\n" + read_file(log));
        std::this_thread::sleep_for(20ms);
    }
}

void nginx_server::stop() noexcept {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
}

nginx_server::~nginx_server() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string nginx_server::http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}
std::string nginx_server::https_url(const std::string& path, const std::string& host) const {
    return "https://" + host + ":" + std::to_string(https_port_) + path;
}
std::string nginx_server::wrong_host_url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(wrong_port_) + path;
}
std::string nginx_server::expired_url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(expired_port_) + path;
}

std::string nginx_server::ca_pem() const { return read_file(ca_file()); }

std::size_t nginx_server::connections_for(const std::string& tag) const {
    std::ifstream in(dir_ + "/access.log");
    std::set<std::string> seen;
    std::string connection, requests, port, uri;
    while (in >> connection >> requests >> port >> uri)
        if (uri.find(tag) != std::string::npos) seen.insert(connection);
    return seen.size();
}

std::size_t nginx_server::requests_for(const std::string& tag) const {
    std::ifstream in(dir_ + "/access.log");
    std::size_t n = 0;
    std::string connection, requests, port, uri;
    while (in >> connection >> requests >> port >> uri)
        if (uri.find(tag) != std::string::npos) ++n;
    return n;
}

std::size_t nginx_server::wait_for_requests(const std::string& tag, std::size_t n) const {
    const auto give_up = std::chrono::steady_clock::now() + 2s;
    std::size_t seen = requests_for(tag);
    while (seen < n && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(10ms);
        seen = requests_for(tag);
    }
    return seen;
}

}  // namespace muster_test
