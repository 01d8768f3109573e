#pragma once

// The worker's request loop, apart from the process set-up around it, so
// that it can be driven over any socket (the frame fuzzer does).

#include <cstddef>

namespace muster::detail {

struct worker_config {
    long parent = 0;
    std::size_t memory_limit = 0;
    std::size_t cpu_seconds = 0;
    std::size_t open_files = 0;
    std::size_t max_frame = 0;
};

/// Serves requests read from `channel` until it ends: runs each request's
/// registered work function and writes its answer back. Returns 0 when the
/// channel ends between frames, 2 (after a line on stderr) for a malformed
/// frame, a frame cut short or an answer that could not be sent.
int serve(int channel, const worker_config& config);

}  // namespace muster::detail
