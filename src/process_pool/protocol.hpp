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
inline constexpr std::uint8_t version = 2;

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
    std::uint64_t tag;  // request: random; result, error: the request's; hello: 0
};
static_assert(sizeof(frame_header) == 24);

inline frame_header make_header(frame_kind kind, std::uint32_t task_id, std::size_t name_length,
                                std::size_t payload_length, std::uint64_t tag = 0) {
    return frame_header{magic,   static_cast<std::uint8_t>(kind),
                        version, static_cast<std::uint16_t>(name_length),
                        task_id, static_cast<std::uint32_t>(payload_length),
                        tag};
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

// Why a header from a worker running request (`task_id`, `tag`) is not that
// request's answer, or an empty view when it is.
inline std::string_view check_answer(const frame_header& h, std::uint32_t task_id,
                                     std::uint64_t tag, std::size_t max_payload) {
    constexpr std::string_view stray =
        "a frame that answers no request (did the work function write to the pool's channel?)";
    if (auto why = check_header(h, max_payload); !why.empty()) return why;
    if (h.kind != static_cast<std::uint8_t>(frame_kind::result) &&
        h.kind != static_cast<std::uint8_t>(frame_kind::error)) {
        return stray;
    }
    if (h.task_id != task_id || h.tag != tag) return stray;
    return {};
}

// The channel is this descriptor in a new worker; the worker moves it out of
// the way at once (`worker_channel_floor`) and closes this one.
inline constexpr int worker_fd = 3;

// Where a worker puts its channel: the lowest free descriptor from here
// (or just under RLIMIT_NOFILE when that is lower), far from the small
// numbers that code opening, closing and writing descriptors reuses.
inline constexpr int worker_channel_floor = 1000;

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
