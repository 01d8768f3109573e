/// @file
/// Completing an await from another thread (a pool thread, an SDK's callback
/// thread) so that the awaiting coroutine resumes only once that thread is
/// done with the coroutine's executor and its io_context. Internal; used by
/// `offload` and `from_callback`.
#pragma once

#include <atomic>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

namespace muster::detail {

/// The executor an operation completes on, holding the io_context's
/// outstanding work while the operation is away, and the hand-off of the
/// completion to it from any thread.
///
/// Once the awaiting coroutine resumes, its io_context may be destroyed at
/// any moment (the coroutine finishes, and whoever ran it goes on: a test, a
/// benchmark's next run, the end of `main`). The completing thread must be
/// done with the io_context by then, and two things would keep it busy
/// with it after the completion is queued:
/// - executors that track outstanding work, destroyed on that thread after
///   the post: its own copy and the ones Asio's `post` makes of it. Each
///   reads the io_context and decrements its work count; on a dead
///   io_context that corrupts whatever lives there now (on a stack, a
///   return address; on a new io_context, its count, so `run` stops
///   early or waits forever). So the tracked executor travels inside the
///   queued function and is released where that runs, and the post goes
///   through an untracked copy.
/// - Asio's scheduler, which wakes a waiting thread after unlocking its
///   queue. So the completing thread marks the hand-off done once `post`
///   has returned, and the queued function waits for that mark before it
///   delivers (normally it is long set; when the completing thread was
///   preempted right after queueing, it is a few instructions away).
///
/// Thread-safety: `hold` on the awaiting side before the operation leaves
/// it; `post` once, from any thread.
class completion_handoff {
  public:
    /// At initiation, on the awaiting side: the completion runs on `ex`, and
    /// `ex`'s io_context counts the operation as outstanding work until then.
    void hold(const boost::asio::any_io_executor& ex) {
        work_ = boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
    }

    /// Queues `deliver` on the held executor. `deliver` must keep the object
    /// that owns this hand-off alive (it is waited on when `deliver` runs).
    /// It runs after this call has returned, never inline; when the
    /// io_context is destroyed first, it is destroyed without running.
    template <class Deliver>
    void post(Deliver deliver) {
        namespace asio = boost::asio;
        {
            const auto untracked = asio::prefer(work_, asio::execution::outstanding_work.untracked);
            asio::post(untracked,
                       [this, deliver = std::move(deliver), work = std::move(work_)]() mutable {
                           posted_.wait(false, std::memory_order_acquire);
                           std::move(deliver)();
                       });
        }
        posted_.test_and_set(std::memory_order_release);
        posted_.notify_one();
    }

  private:
    boost::asio::any_io_executor work_;
    std::atomic_flag posted_;
};

}  // namespace muster::detail
