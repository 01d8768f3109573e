#pragma once

// What parent and worker say to each other over their socketpair: frames of
// a fixed 16-byte header followed by `name_length` bytes of name and
// `payload_length` bytes of payload. Both ends are the same machine (the
// same program, usually), so integers go in host byte order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace muster::detail::pool_protocol {

inline constexpr std::uint32_t magic = 0x5254534d;  // "MSTR"
inline constexpr std::uint8_t version = 1;

enum class frame_kind : std::uint8_t {
    hello = 1,    // worker -> parent, once: ready; payload is the worker's pid
    request = 2,  // parent -> worker: name = function, payload = input
    result = 3,   // worker -> parent: payload = the function's result
    error = 4,    // worker -> parent: name = exception type, payload = message
};

struct frame_header {
    std::uint32_t magic;
    std::uint8_t kind;
    std::uint8_t version;
    std::uint16_t name_length;
    std::uint32_t task_id;
    std::uint32_t payload_length;
};
static_assert(sizeof(frame_header) == 16);

inline frame_header make_header(frame_kind kind, std::uint32_t task_id, std::size_t name_length,
                                std::size_t payload_length) {
    return frame_header{magic,   static_cast<std::uint8_t>(kind),
                        version, static_cast<std::uint16_t>(name_length),
                        task_id, static_cast<std::uint32_t>(payload_length)};
}

// Why a header cannot be accepted, or an empty view when it can.
inline std::string_view check_header(const frame_header& h, std::size_t max_payload) {
    if (h.magic != magic) return "bad magic";
    if (h.version != version) return "unknown protocol version";
    if (h.kind < static_cast<std::uint8_t>(frame_kind::hello) ||
        h.kind > static_cast<std::uint8_t>(frame_kind::error)) {
        return "unknown frame kind";
    }
    if (h.payload_length > max_payload) return "frame larger than max_frame_bytes";
    return {};
}

// The channel is always this descriptor in the worker.
inline constexpr int worker_fd = 3;

// argv[1] of a worker; the rest of its argv is, in order: the parent's pid,
// memory limit (bytes), CPU time limit (s), open files limit, max frame
// bytes.
inline constexpr std::string_view worker_flag = "--muster-process-pool-worker";
inline constexpr int worker_argc = 7;

// Set in every worker's environment: a program that ignores the worker flag
// (it never calls worker_main_if_requested) must not start pools of its own.
inline constexpr const char* worker_variable = "MUSTER_PROCESS_POOL_WORKER";

// Exit status of a worker whose own memory watch (sanitizer builds) found it
// over its limit.
inline constexpr int memory_limit_exit_code = 86;

}  // namespace muster::detail::pool_protocol
