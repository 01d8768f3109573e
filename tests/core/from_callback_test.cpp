#include <muster/core/from_callback.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>

#include "handoff_probe.hpp"

namespace from_callback_test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// Runs `a` on `io` until everything on `io` is done, then returns its result
/// or rethrows its exception.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
    auto f = asio::co_spawn(io, std::move(a), asio::use_future);
    io.restart();
    io.run();
    return f.get();
}

/// Spins until `flag` is set, or gives up after a generous safety limit so a
/// broken implementation fails the test instead of hanging it.
bool wait_for(const std::atomic<bool>& flag) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!flag.load()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

struct custom_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The error code of the system_error that `e` holds, or nullopt.
std::optional<boost::system::error_code> system_error_code(std::exception_ptr e) {
    try {
        if (e) std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        return se.code();
    } catch (...) {
    }
    return std::nullopt;
}

TEST(FromCallbackTest, ValueFromForeignThreadResumesOnTheIoThread) {
    asio::io_context io;
    std::thread sdk;
    const auto io_thread = std::this_thread::get_id();
    auto [value, resumed_on] = run(io, [&]() -> asio::awaitable<std::pair<int, std::thread::id>> {
        int v = co_await muster::from_callback<int>([&](muster::completion<int> c) {
            sdk = std::thread([c] {
                std::this_thread::sleep_for(20ms);
                c(42);
            });
        });
        co_return std::pair{v, std::this_thread::get_id()};
    }());
    sdk.join();
    EXPECT_EQ(value, 42);
    EXPECT_EQ(resumed_on, io_thread);
}

// Once the await resumes, the io_context may be destroyed: the thread that
// completed the handle must already be done with it (see the same test of
// offload).
TEST(FromCallbackTest, TheCallbackThreadIsDoneWithTheIoContextWhenTheAwaitResumes) {
    asio::io_context io;
    auto probe = std::make_shared<muster_test::handoff_probe>();
    muster_test::handoff_executor<asio::io_context::executor_type> ex(io.get_executor(), probe);
    std::thread sdk;
    int value = 0;
    asio::co_spawn(
        ex,
        [](std::shared_ptr<muster_test::handoff_probe> p,
           std::thread* thread) -> asio::awaitable<int> {
            auto start = [thread](muster::completion<int> c) {
                *thread = std::thread([c] { c(42); });
            };
            const int v = co_await muster::from_callback<int>(std::move(start));
            p->resumed();
            co_return v;
        }(probe, &sdk),
        [&](std::exception_ptr e, int v) {
            EXPECT_FALSE(e);
            value = v;
        });
    io.run();
    sdk.join();
    EXPECT_EQ(value, 42);
    EXPECT_FALSE(probe->resumed_inside_execute())
        << "the await resumed while the callback's thread was still queueing its completion";
    EXPECT_EQ(probe->late_tracked_copies(), 0)
        << "the callback's thread touched the io_context's work count after the await resumed";
}

TEST(FromCallbackTest, VoidCompletionResumesTheAwait) {
    asio::io_context io;
    std::thread sdk;
    bool resumed = false;
    run(io, [&]() -> asio::awaitable<void> {
        co_await muster::from_callback(
            [&](muster::completion<void> c) { sdk = std::thread([c] { c(); }); });
        resumed = true;
    }());
    sdk.join();
    EXPECT_TRUE(resumed);
}

TEST(FromCallbackTest, MoveOnlyValuesAreDelivered) {
    asio::io_context io;
    auto p = run(io, muster::from_callback<std::unique_ptr<int>>(
                         [](muster::completion<std::unique_ptr<int>> c) {
                             c.set_value(std::make_unique<int>(3));
                         }));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 3);
}

/// Awaits `value`, delivered by a job on `callbacks`.
asio::awaitable<int> completed_on(asio::thread_pool::executor_type callbacks, int value) {
    co_return co_await muster::from_callback<int>([callbacks, value](muster::completion<int> c) {
        asio::post(callbacks, [c, value] { c.set_value(value); });
    });
}

TEST(FromCallbackTest, ManyConcurrentAwaitsCompletedFromDifferentThreads) {
    asio::io_context io;
    asio::thread_pool callbacks(4);
    constexpr int n = 200;
    std::vector<int> got(n, -1);
    int completed = 0;
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(io, completed_on(callbacks.get_executor(), i * 3),
                       [&, i](std::exception_ptr e, int v) {
                           EXPECT_FALSE(e);
                           got[static_cast<std::size_t>(i)] = v;
                           ++completed;
                       });
    }
    io.run();
    callbacks.join();
    EXPECT_EQ(completed, n);
    for (int i = 0; i < n; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i * 3);
}

TEST(FromCallbackTest, ExceptionIsRethrownWithItsType) {
    asio::io_context io;
    std::thread sdk;
    auto a = muster::from_callback<int>([&](muster::completion<int> c) {
        sdk = std::thread([c] {
            // Its own statement: see completion's thread-safety note.
            auto e = std::make_exception_ptr(custom_error("sdk failed"));
            c.set_exception(std::move(e));
        });
    });
    try {
        run(io, std::move(a));
        ADD_FAILURE() << "nothing thrown";
    } catch (const custom_error& e) {
        EXPECT_STREQ(e.what(), "sdk failed");
    }
    sdk.join();
}

TEST(FromCallbackTest, ErrorCodeIsThrownAsSystemError) {
    asio::io_context io;
    const auto refused = make_error_code(boost::system::errc::connection_refused);
    try {
        run(io, muster::from_callback<int>(
                    [refused](muster::completion<int> c) { c.set_error(refused); }));
        ADD_FAILURE() << "nothing thrown";
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), refused);
    }
}

TEST(FromCallbackTest, FirstCompletionWinsAndLaterOnesReturnFalse) {
    asio::io_context io;
    std::vector<bool> accepted;
    int v = run(io, muster::from_callback<int>([&](muster::completion<int> c) {
                    auto copy = c;
                    accepted.push_back(c.set_value(1));
                    accepted.push_back(copy.set_value(2));
                    accepted.push_back(c(3));
                    accepted.push_back(c.set_exception(std::make_exception_ptr(custom_error("x"))));
                    accepted.push_back(copy.set_error(asio::error::connection_reset));
                }));
    EXPECT_EQ(v, 1);
    EXPECT_EQ(accepted, (std::vector<bool>{true, false, false, false, false}));
}

TEST(FromCallbackTest, RacingCompletionsFromManyThreadsHaveOneWinner) {
    asio::io_context io;
    constexpr int racers = 8;
    std::vector<std::thread> threads;
    std::atomic<int> winners{0};
    std::atomic<int> winner_value{-1};
    int v = run(io, muster::from_callback<int>([&](muster::completion<int> c) {
                    for (int i = 0; i < racers; ++i) {
                        threads.emplace_back([c, i, &winners, &winner_value] {
                            if (c.set_value(i)) {
                                ++winners;
                                winner_value = i;
                            }
                        });
                    }
                }));
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners, 1);
    EXPECT_EQ(v, winner_value);
}

TEST(FromCallbackTest, CancellationCallsCancellerAndThrowsOperationAborted) {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<muster::completion<int>> held;
    int canceller_calls = 0;
    std::thread::id canceller_thread;
    std::exception_ptr error;

    auto task = [&]() -> asio::awaitable<int> {
        asio::post(io, [&] {
            signal.emit(asio::cancellation_type::terminal);
            // The request is never answered; if cancellation did not complete
            // the await, dropping the handle would (with another error).
            asio::post(io, [&] { held.reset(); });
        });
        co_return co_await muster::from_callback<int>([&](muster::completion<int> c) {
            held.emplace(std::move(c));
            return [&] {
                ++canceller_calls;
                canceller_thread = std::this_thread::get_id();
            };
        });
    };
    asio::co_spawn(
        io, task(),
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { error = e; }));
    io.run();
    EXPECT_EQ(system_error_code(error), asio::error::operation_aborted);
    EXPECT_EQ(canceller_calls, 1);
    EXPECT_EQ(canceller_thread, std::this_thread::get_id());
}

TEST(FromCallbackTest, LateCallbackAfterCancellationIsHarmless) {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::atomic<bool> io_finished{false};
    std::atomic<bool> late_call_accepted{true};
    std::atomic<bool> handle_outlived_io_run{false};
    std::thread sdk;
    std::exception_ptr error;

    auto task = [&]() -> asio::awaitable<std::string> {
        asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
        co_return co_await muster::from_callback<std::string>(
            [&](muster::completion<std::string> c) {
                sdk = std::thread([c, &io_finished, &late_call_accepted, &handle_outlived_io_run] {
                    // Holds the handle until io.run() has returned: the await
                    // must not keep the io_context busy after it completed.
                    handle_outlived_io_run = wait_for(io_finished);
                    late_call_accepted = c.set_value("too late");
                });
                return [] {};
            });
    };
    asio::co_spawn(io, task(),
                   asio::bind_cancellation_slot(
                       signal.slot(), [&](std::exception_ptr e, std::string) { error = e; }));
    io.run();
    io_finished = true;
    sdk.join();
    EXPECT_EQ(system_error_code(error), asio::error::operation_aborted);
    EXPECT_TRUE(handle_outlived_io_run);
    EXPECT_FALSE(late_call_accepted);
}

TEST(FromCallbackTest, CompletionBeforeCancellationWinsAndCancellerIsNotCalled) {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<muster::completion<int>> held;
    int canceller_calls = 0;
    int value = 0;
    std::exception_ptr error;

    auto task = [&]() -> asio::awaitable<int> {
        asio::post(io, [&] {
            held->set_value(5);
            signal.emit(asio::cancellation_type::terminal);  // before the completion ran
        });
        co_return co_await muster::from_callback<int>([&](muster::completion<int> c) {
            held.emplace(std::move(c));
            return [&] { ++canceller_calls; };
        });
    };
    asio::co_spawn(io, task(),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int v) {
                       error = e;
                       value = v;
                   }));
    io.run();
    EXPECT_FALSE(error);
    EXPECT_EQ(value, 5);
    EXPECT_EQ(canceller_calls, 0);
}

TEST(FromCallbackTest, ThrowingCancellerIsReportedInsteadOfOperationAborted) {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<muster::completion<int>> held;
    std::exception_ptr error;

    auto task = [&]() -> asio::awaitable<int> {
        asio::post(io, [&] {
            signal.emit(asio::cancellation_type::terminal);
            asio::post(io, [&] { held.reset(); });
        });
        co_return co_await muster::from_callback<int>([&](muster::completion<int> c) {
            held.emplace(std::move(c));
            return [] { throw custom_error("cancel failed"); };
        });
    };
    asio::co_spawn(
        io, task(),
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { error = e; }));
    io.run();
    ASSERT_TRUE(error);
    EXPECT_THROW(std::rethrow_exception(error), custom_error);
}

/// Runs `a` on `io` like `run`, but gives up after a generous safety limit,
/// so an await that would hang fails the test instead.
std::exception_ptr error_of_guarded(asio::io_context& io, asio::awaitable<int> a) {
    asio::steady_timer watchdog(io, 5s);
    std::optional<std::exception_ptr> error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, int) {
        error = e;
        watchdog.cancel();
    });
    watchdog.async_wait([&](boost::system::error_code ec) {
        if (!ec) io.stop();
    });
    io.run();
    if (!error) ADD_FAILURE() << "the await never completed";
    return error.value_or(nullptr);
}

TEST(FromCallbackTest, DroppedHandleFailsWithClearError) {
    asio::io_context io;
    auto error = error_of_guarded(io, muster::from_callback<int>([](muster::completion<int>) {}));
    try {
        if (error) std::rethrow_exception(error);
        ADD_FAILURE() << "nothing thrown";
    } catch (const muster::callback_dropped_error& e) {
        const std::runtime_error& base = e;
        EXPECT_STREQ(base.what(),
                     "muster::from_callback: the callback was dropped without being called");
    }
}

TEST(FromCallbackTest, HandleDroppedLaterOnAnotherThreadFailsWithClearError) {
    asio::io_context io;
    std::thread sdk;
    auto error = error_of_guarded(io, muster::from_callback<int>([&](muster::completion<int> c) {
                                      sdk = std::thread([c]() mutable {
                                          std::this_thread::sleep_for(10ms);
                                          auto last = std::move(c);  // the SDK drops its callback
                                      });
                                  }));
    sdk.join();
    ASSERT_TRUE(error);
    EXPECT_THROW(std::rethrow_exception(error), muster::callback_dropped_error);
}

TEST(FromCallbackTest, StartThrowingIsRethrown) {
    asio::io_context io;
    EXPECT_THROW(run(io, muster::from_callback<int>([](muster::completion<int>) -> void {
                         throw custom_error("could not send the request");
                     })),
                 custom_error);
    EXPECT_THROW(run(io, muster::from_callback<int>([](muster::completion<int> c) -> void {
                         c.set_value(1);
                         throw custom_error("sent, then failed");
                     })),
                 custom_error);
}

}  // namespace

}  // namespace from_callback_test
