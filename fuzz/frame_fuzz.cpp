// The process pool's frames: the worker's request loop (what it does with
// whatever arrives on its channel) and the parent's check of an answer.
// Input: the bytes the worker reads from its channel.
#include <sys/socket.h>
#include <unistd.h>

#include <muster/process_pool/work.hpp>

#include <cstring>
#include <string>
#include <thread>

#include "fuzz_check.hpp"
#include "protocol.hpp"
#include "worker.hpp"

namespace proto = muster::detail::pool_protocol;
using muster_fuzz::check;

namespace {

std::string echo(std::string_view in) { return std::string(in); }
std::string throws(std::string_view in) { throw std::runtime_error(std::string(in)); }

const muster::work_registrar registrations[] = {{"echo", echo}, {"throws", throws}};

// Reads the worker's answers to the end and checks each is a well-formed
// frame the parent would accept for some request.
void read_answers(int fd, std::size_t max_frame) {
    std::string all;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        all.append(buf, static_cast<std::size_t>(n));
    std::size_t at = 0;
    while (at < all.size()) {
        check(all.size() - at >= sizeof(proto::frame_header), "a worker answer cut short");
        proto::frame_header h;
        std::memcpy(&h, all.data() + at, sizeof h);
        check(proto::check_answer(h, h.task_id, h.tag, max_frame).empty(),
              "a worker answer the parent refuses");
        at += sizeof h + h.name_length + h.payload_length;
        check(at <= all.size(), "a worker answer longer than what was sent");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
    muster::detail::worker_config config;
    config.max_frame = 4096;
    // The answers go to a reader of their own, so a full socket buffer never
    // blocks the worker.
    std::thread reader(read_answers, fds[0], config.max_frame);
    std::thread writer([fd = ::dup(fds[0]), data, size] {
        for (std::size_t at = 0; at < size;) {
            ssize_t n = ::write(fd, data + at, size - at);
            if (n <= 0) break;
            at += static_cast<std::size_t>(n);
        }
        ::shutdown(fd, SHUT_WR);
        ::close(fd);
    });
    (void)muster::detail::serve(fds[1], config);
    ::close(fds[1]);
    writer.join();
    reader.join();
    ::close(fds[0]);
    return 0;
}
