// The smallest Lambda runtime that speaks the Runtime API correctly: one
// keep-alive connection, blocking sockets, answers every event with `null`.
// It measures the emulator's own ceiling, with no runtime library in the way.
//
//   emulator_noop_bootstrap          answers `null`
//   emulator_noop_bootstrap echo     answers with the event itself, after
//                                    sleeping N ms if it holds "sleep_ms":N
//                                    (load tests match answers to requests)
//
// Reads AWS_LAMBDA_RUNTIME_API (host:port). Exits 1 on any protocol error.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

namespace {

int fd = -1;
std::string pending;  // bytes read past the previous message

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "noop_bootstrap: %s\n", what);
    std::exit(1);
}

void send_all(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            die("send failed");
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool fill() {
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
        return false;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::string header_value(std::string_view head, std::string_view name) {
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
        pos += 2;
        if (head.size() - pos > name.size() &&
            strncasecmp(head.data() + pos, name.data(), name.size()) == 0 &&
            head[pos + name.size()] == ':') {
            std::size_t start = pos + name.size() + 1;
            while (start < head.size() && head[start] == ' ') {
                ++start;
            }
            return std::string(head.substr(start, head.find("\r\n", start) - start));
        }
    }
    return {};
}

// Reads one response; returns its head (status line and headers).
std::string read_response(std::string& body) {
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) {
            die("connection closed");
        }
    }
    std::string head = pending.substr(0, end + 2);
    pending.erase(0, end + 4);
    std::size_t length = std::strtoul(header_value(head, "Content-Length").c_str(), nullptr, 10);
    while (pending.size() < length) {
        if (!fill()) {
            die("connection closed in a body");
        }
    }
    body = pending.substr(0, length);
    pending.erase(0, length);
    return head;
}

}  // namespace

int main(int argc, char** argv) {
    const bool echo = argc > 1 && std::strcmp(argv[1], "echo") == 0;
    const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
    if (api == nullptr) {
        die("AWS_LAMBDA_RUNTIME_API is not set");
    }
    std::string host_port(api);
    auto colon = host_port.rfind(':');
    std::string host = host_port.substr(0, colon);
    int port = std::atoi(host_port.c_str() + colon + 1);

    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        die("cannot connect to the Runtime API");
    }
    const std::string next =
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: " + host_port + "\r\n\r\n";
    std::string body;
    for (;;) {
        send_all(next);
        std::string head = read_response(body);
        std::string id = header_value(head, "Lambda-Runtime-Aws-Request-Id");
        if (id.empty()) {
            die("no request id on /next");
        }
        std::string answer = "null";
        if (echo) {
            if (auto at = body.find("\"sleep_ms\":"); at != std::string::npos) {
                long ms = std::strtol(body.c_str() + at + 11, nullptr, 10);
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            }
            answer = body;
        }
        std::string post = "POST /2018-06-01/runtime/invocation/" + id +
                           "/response HTTP/1.1\r\nHost: " + host_port +
                           "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(answer.size()) + "\r\n\r\n" + answer;
        send_all(post);
        read_response(body);
    }
}
