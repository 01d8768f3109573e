#include <muster/process_pool/process_pool.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/errors.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/group.hpp>
#include <muster/core/scope.hpp>

#include "../core/run_returns.hpp"
#include "../core/test_support.hpp"

namespace process_pool_test {

namespace {

namespace asio = boost::asio;
using muster::clock;
using muster::process_pool;
using muster::process_pool_options;
using muster::status;
using muster_test::run;
using namespace std::chrono_literals;

// The sanitizers catch SIGSEGV themselves, report, and end the worker their
// own way (SIGABRT or an exit status): the crash is still the task's alone,
// but its signal is theirs to choose. GCC says so with __SANITIZE_*__, Clang
// 16 only through __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitizer_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitizer_build = true;
#else
constexpr bool sanitizer_build = false;
#endif
#else
constexpr bool sanitizer_build = false;
#endif

extern "C" char** environ;

/// The children of this process, live and zombie, read from /proc.
struct children {
    int live = 0;
    int zombies = 0;
};

/// When each task ran, from the "interval_ms" worker function's answers.
struct interval {
    long long start = 0;
    long long end = 0;
};

std::vector<interval> intervals_of(const muster::results<std::string>& r) {
    std::vector<interval> v;
    for (const auto& o : r) {
        interval i;
        std::istringstream(o.value_or("0 0")) >> i.start >> i.end;
        v.push_back(i);
    }
    return v;
}

/// The most intervals that overlap at one instant: how many tasks really
/// ran at once, whatever the machine's load did to their durations.
int max_overlap(const std::vector<interval>& v) {
    int most = 0;
    for (const interval& a : v) {
        int at_once = 0;
        for (const interval& b : v)
            if (b.start <= a.start && a.start < b.end) ++at_once;
        most = std::max(most, at_once);
    }
    return most;
}

children count_children() {
    children c;
    const pid_t self = ::getpid();
    DIR* proc = ::opendir("/proc");
    if (!proc) return c;
    while (dirent* e = ::readdir(proc)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // pid (comm) state ppid ...; comm may hold spaces and parentheses.
        auto close = text.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(text.substr(close + 1));
        char state = 0;
        long ppid = 0;
        rest >> state >> ppid;
        if (ppid != self) continue;
        if (state == 'Z') {
            ++c.zombies;
        } else {
            ++c.live;
        }
    }
    ::closedir(proc);
    return c;
}

/// Options for a test pool of `n` workers. (Set fields one by one: GCC 12
/// warns about designated initializers that leave fields out.)
process_pool_options workers(std::size_t n) {
    process_pool_options o;
    o.workers = n;
    return o;
}

/// Whether `pid` is a process that has not exited (a zombie has).
bool process_exists(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

/// Awaits `pool.run(...)` and returns its outcome rather than throwing, so
/// a test can look at a single task the way a collection would.
asio::awaitable<muster::outcome<std::string>> outcome_of(process_pool* pool, std::string fn,
                                                         std::string in) {
    std::vector<asio::awaitable<std::string>> one;
    one.push_back(pool->run(std::move(fn), std::move(in)));
    auto r = co_await muster::gather(std::move(one));
    co_return std::move(r[0]);
}

template <class E>
std::string message_of(const muster::outcome<std::string>& o) {
    try {
        std::rethrow_exception(o.error());
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("unexpected exception type: ") + e.what();
    }
    return {};
}

// ---- ordinary work ----------------------------------------------------------

asio::awaitable<void> runs_registered_function() {
    auto po = workers(2);
    process_pool pool(co_await asio::this_coro::executor, po);
    std::string bytes("a\0b\xff", 4);
    EXPECT_EQ(co_await pool.run("echo", bytes), bytes);
    EXPECT_EQ(co_await pool.run("echo", ""), "");
    EXPECT_EQ(pool.size(), 2u);
    EXPECT_EQ(pool.worker_pids().size(), 2u);
}

TEST(ProcessPoolTest, RunsARegisteredFunctionAndReturnsItsBytes) {
    run(runs_registered_function());
}

asio::awaitable<void> work_runs_in_other_processes() {
    auto po = workers(2);
    process_pool pool(co_await asio::this_coro::executor, po);
    co_await pool.start();
    std::vector<asio::awaitable<std::string>> tasks;
    for (int i = 0; i < 8; ++i) tasks.push_back(pool.run("interval_ms", "50"));
    auto r = co_await muster::gather(std::move(tasks));
    EXPECT_EQ(r.count(status::ok), 8u);
    // Two workers: tasks ran two at once, never more.
    EXPECT_EQ(max_overlap(intervals_of(r)), 2);
    auto other = co_await pool.run("pid", "");
    EXPECT_NE(other, std::to_string(::getpid()));
}

TEST(ProcessPoolTest, TasksRunInParallelInWorkerProcesses) { run(work_runs_in_other_processes()); }

asio::awaitable<void> exception_is_an_error() {
    auto po = workers(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    const auto before = co_await pool.run("pid", "");
    auto o = co_await outcome_of(&pool, "throws", "x");
    EXPECT_EQ(o.status(), status::failed);
    try {
        std::rethrow_exception(o.error());
    } catch (const muster::work_error& e) {
        EXPECT_STREQ(e.what(), "bad input: x");
        EXPECT_EQ(e.type(), "std::invalid_argument");
        EXPECT_EQ(e.function(), "throws");
    } catch (...) {
        ADD_FAILURE() << "expected a work_error";
    }
    // Not a crash: the same worker serves the next task.
    EXPECT_EQ(co_await pool.run("pid", ""), before);
    EXPECT_EQ(pool.workers_started(), 1u);
}

TEST(ProcessPoolTest, AnExceptionInTheWorkIsAnErrorNotACrash) { run(exception_is_an_error()); }

asio::awaitable<void> refuses_bad_requests() {
    auto po = workers(1);
    po.max_frame_bytes = 1024;
    process_pool pool(co_await asio::this_coro::executor, po);
    EXPECT_THROW(co_await pool.run("no_such_function", ""), std::invalid_argument);
    EXPECT_THROW(co_await pool.run("echo", std::string(1025, 'x')), std::length_error);
    auto o = co_await outcome_of(&pool, "huge", "2048");
    EXPECT_EQ(o.status(), status::failed);
    EXPECT_NE(message_of<muster::work_error>(o).find("max_frame_bytes"), std::string::npos);
    EXPECT_EQ(co_await pool.run("echo", std::string(1024, 'y')), std::string(1024, 'y'));
}

TEST(ProcessPoolTest, RefusesUnknownFunctionsAndOversizedFrames) { run(refuses_bad_requests()); }

// ---- crashes ------------------------------------------------------------------

asio::awaitable<void> segfault_fails_alone() {
    auto po = workers(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    auto o = co_await outcome_of(&pool, "segfault", "");
    EXPECT_EQ(o.status(), status::failed);
    try {
        std::rethrow_exception(o.error());
    } catch (const muster::worker_crashed& e) {
        EXPECT_EQ(e.function(), "segfault");
        const std::string what = e.what();
        EXPECT_NE(what.find("while running segfault"), std::string::npos) << what;
        if (!sanitizer_build) {
            EXPECT_EQ(e.signal(), SIGSEGV);
            EXPECT_EQ(what,
                      "muster::process_pool: worker killed by SIGSEGV while running segfault");
        }
    } catch (...) {
        ADD_FAILURE() << "expected worker_crashed";
    }
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
    EXPECT_EQ(pool.workers_started(), 2u);
}

TEST(ProcessPoolTest, ASegfaultFailsItsTaskWithTheSignal) { run(segfault_fails_alone()); }

asio::awaitable<void> abort_fails_alone() {
    auto po = workers(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    auto o = co_await outcome_of(&pool, "abort", "");
    EXPECT_EQ(message_of<muster::worker_crashed>(o),
              "muster::process_pool: worker killed by SIGABRT while running abort");
    auto e = co_await outcome_of(&pool, "exit_now", "");
    EXPECT_EQ(message_of<muster::worker_crashed>(e),
              "muster::process_pool: worker exited with code 7 while running exit_now");
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
}

TEST(ProcessPoolTest, AnAbortOrAnExitFailsItsTaskWithTheReason) { run(abort_fails_alone()); }

/// Four hostile tasks among a hundred
/// ordinary ones in one gather: each fails alone.
asio::awaitable<void> hostile_tasks_fail_alone() {
    auto po = workers(2);
    po.memory_limit = std::size_t{128} << 20;
    process_pool pool(co_await asio::this_coro::executor, po);
    std::vector<asio::awaitable<std::string>> tasks;
    tasks.push_back(pool.run("segfault", ""));
    tasks.push_back(pool.run("abort", ""));
    tasks.push_back(pool.run("hog", ""));
    tasks.push_back(pool.run("spin", ""));
    for (int i = 0; i < 100; ++i) tasks.push_back(pool.run("echo", std::to_string(i)));
    // As many in flight as there are workers, so the collection's
    // task_timeout counts from when a worker takes the task.
    muster::options o;
    o.limit = pool.size();
    // Generous: under a sanitizer the hog reaches its limit by touching
    // every page, which takes seconds on a loaded machine.
    o.task_timeout = 6s;
    auto r = co_await muster::gather(std::move(tasks), o);

    EXPECT_EQ(r[0].status(), status::failed);
    EXPECT_NE(r[0].message().find("while running segfault"), std::string::npos) << r[0].message();
    EXPECT_EQ(r[1].status(), status::failed);
    EXPECT_NE(r[1].message().find("SIGABRT while running abort"), std::string::npos)
        << r[1].message();
    EXPECT_EQ(r[2].status(), status::failed);
    EXPECT_NE(r[2].message().find("memory limit"), std::string::npos) << r[2].message();
    EXPECT_EQ(r[3].status(), status::timed_out) << r[3].message();
    for (std::size_t i = 4; i < r.size(); ++i) {
        EXPECT_EQ(r[i].value_or("failed: " + r[i].message()), std::to_string(i - 4));
    }
    // Back to full strength: two live workers, and both serve work.
    EXPECT_EQ(pool.worker_pids().size(), 2u);
    co_await pool.start();
    std::vector<asio::awaitable<std::string>> after;
    for (int i = 0; i < 2; ++i) after.push_back(pool.run("interval_ms", "100"));
    auto again = co_await muster::gather(std::move(after));
    EXPECT_EQ(again.count(status::ok), 2u);
    EXPECT_EQ(max_overlap(intervals_of(again)), 2) << "both workers ran at once";
}

TEST(ProcessPoolTest, HostileTasksFailAloneAmongAHundredSiblings) {
    run(hostile_tasks_fail_alone());
}

asio::awaitable<void> garbage_is_a_crash() {
    auto po = workers(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    auto g = co_await outcome_of(&pool, "garbage", "");
    EXPECT_EQ(message_of<muster::worker_crashed>(g),
              "muster::process_pool: worker sent bad magic and was killed while running garbage");
    auto c = co_await outcome_of(&pool, "close_channel", "");
    EXPECT_EQ(message_of<muster::worker_crashed>(c),
              "muster::process_pool: worker closed its channel and was killed while running "
              "close_channel");
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
}

TEST(ProcessPoolTest, AWorkerSendingGarbageOrClosingItsChannelCountsAsCrashed) {
    run(garbage_is_a_crash());
}

// A work function that writes a frame to the channel fails itself, not the
// task after it, and never passes its frame off as its result: the answer
// must carry its request's tag.
asio::awaitable<void> stray_frames_fail_their_writer() {
    auto po = workers(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    // Task ids count from 1: the frame names the writer's own id, then the
    // next task's.
    auto own = co_await outcome_of(&pool, "stray_frame", "1");
    EXPECT_EQ(own.status(), status::failed);
    EXPECT_EQ(message_of<muster::worker_crashed>(own),
              "muster::process_pool: worker sent a frame that answers no request (did the work "
              "function write to the pool's channel?) and was killed while running stray_frame");
    EXPECT_EQ(co_await pool.run("echo", "next"), "next");
    auto next = co_await outcome_of(&pool, "stray_frame", "4");
    EXPECT_EQ(next.status(), status::failed);
    EXPECT_NE(next.message().find("while running stray_frame"), std::string::npos)
        << next.message();
    auto g = co_await outcome_of(&pool, "garbage", "");
    EXPECT_EQ(message_of<muster::worker_crashed>(g),
              "muster::process_pool: worker sent bad magic and was killed while running garbage");
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
    // One worker at first, one after each of the three writers.
    EXPECT_EQ(pool.workers_started(), 4u);
}

TEST(ProcessPoolTest, AStrayFrameFailsTheTaskThatWroteItAndNotTheNext) {
    run(stray_frames_fail_their_writer());
}

// The channel is not where a stale descriptor number points: descriptor 3,
// its number when the worker starts, is free, and the standard descriptors
// are open.
asio::awaitable<void> channel_out_of_the_way() {
    auto po = workers(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    EXPECT_EQ(co_await pool.run("open_descriptors", ""), "0 1 2");
    EXPECT_EQ(co_await pool.run("write_to_three", ""), "descriptor 3 is closed");
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
    EXPECT_EQ(pool.workers_started(), 1u);
}

TEST(ProcessPoolTest, TheChannelIsNotOnALowDescriptor) { run(channel_out_of_the_way()); }

// ---- limits -------------------------------------------------------------------

asio::awaitable<void> memory_limit() {
    auto po = workers(1);
    po.memory_limit = std::size_t{128} << 20;
    process_pool pool(co_await asio::this_coro::executor, po);
    auto o = co_await outcome_of(&pool, "hog", "");
    EXPECT_EQ(o.status(), status::failed);
    if (sanitizer_build) {
        // RSS watch: the worker ends itself.
        EXPECT_EQ(message_of<muster::worker_crashed>(o),
                  "muster::process_pool: worker exceeded its memory limit of 128 MiB while "
                  "running hog");
    } else {
        // RLIMIT_AS: the allocation fails inside the function; the worker
        // lives on.
        EXPECT_EQ(message_of<muster::work_error>(o),
                  "std::bad_alloc (the worker's memory limit is 128 MiB)");
        EXPECT_EQ(pool.workers_started(), 1u);
    }
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
}

TEST(ProcessPoolTest, AnAllocationBombFailsItsTaskAtTheMemoryLimit) { run(memory_limit()); }

asio::awaitable<void> cpu_limit() {
    auto po = workers(1);
    po.cpu_time_limit = std::chrono::seconds(1);
    process_pool pool(co_await asio::this_coro::executor, po);
    EXPECT_EQ(co_await pool.run("echo", "first"), "first");
    auto o = co_await outcome_of(&pool, "spin", "");
    EXPECT_EQ(message_of<muster::worker_crashed>(o),
              "muster::process_pool: worker killed by SIGXCPU (over its CPU time limit of 1 s) "
              "while running spin");
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
}

TEST(ProcessPoolTest, ACpuTimeLimitKillsTheWorkerWithSIGXCPU) { run(cpu_limit()); }

asio::awaitable<void> open_files_limit() {
    auto po = workers(1);
    po.open_files_limit = 16;
    process_pool pool(co_await asio::this_coro::executor, po);
    const int opened = std::stoi(co_await pool.run("open_files", ""));
    EXPECT_GT(opened, 0);
    EXPECT_LT(opened, 16);
}

TEST(ProcessPoolTest, AnOpenFilesLimitCapsTheWorkersDescriptors) { run(open_files_limit()); }

// ---- timeouts, deadlines, cancellation ---------------------------------------

asio::awaitable<void> task_timeout_kills() {
    auto po = workers(1);
    po.task_timeout = std::chrono::milliseconds(200);
    process_pool pool(co_await asio::this_coro::executor, po);
    EXPECT_EQ(co_await pool.run("echo", "warm"), "warm");
    const auto t0 = clock::now();
    auto o = co_await outcome_of(&pool, "spin", "");
    // "spin" never returns: that it ended at all is the kill; not before
    // the timeout.
    EXPECT_GE(clock::now() - t0, 200ms);
    EXPECT_EQ(o.status(), status::timed_out);
    EXPECT_EQ(message_of<muster::timeout_error>(o),
              "muster::process_pool: spin ran past its task timeout; its worker was killed");
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
    EXPECT_EQ(pool.workers_started(), 2u);
}

TEST(ProcessPoolTest, TheTaskTimeoutKillsTheWorker) { run(task_timeout_kills()); }

asio::awaitable<void> spin_directly(process_pool* pool) { co_await pool->run("spin", ""); }

asio::awaitable<void> deadline_kills() {
    auto io = co_await asio::this_coro::executor;
    auto po = workers(1);
    process_pool pool(io, po);
    co_await pool.start();
    // An invocation's scope: the awaiting code has no collection of its own.
    muster::root_scope scope(clock::now() + 300ms);
    const auto t0 = clock::now();
    std::exception_ptr error;
    try {
        co_await asio::co_spawn(scope.executor(io), spin_directly(&pool), asio::use_awaitable);
    } catch (...) {
        error = std::current_exception();
    }
    const auto elapsed = clock::now() - t0;
    EXPECT_GE(elapsed, 290ms);  // and it ended at all: "spin" never returns
    try {
        std::rethrow_exception(error);
    } catch (const muster::timeout_error& e) {
        EXPECT_STREQ(e.what(),
                     "muster::process_pool: spin ran past its deadline; its worker was killed");
    } catch (...) {
        ADD_FAILURE() << "expected timeout_error";
    }

    // The same inside a gather with a deadline: timed_out.
    muster::options o;
    o.deadline = clock::now() + 200ms;
    std::vector<asio::awaitable<std::string>> tasks;
    tasks.push_back(pool.run("spin", ""));
    auto r = co_await muster::gather(std::move(tasks), o);
    EXPECT_EQ(r[0].status(), status::timed_out);
    EXPECT_EQ(co_await pool.run("echo", "after"), "after");
}

TEST(ProcessPoolTest, TheDeadlineKillsAnEndlessLoopAndReturnsOnTime) { run(deadline_kills()); }

asio::awaitable<void> queued_past_deadline() {
    auto io = co_await asio::this_coro::executor;
    auto po = workers(1);
    process_pool pool(io, po);
    co_await pool.start();
    muster::options o;
    o.deadline = clock::now() + 200ms;
    std::vector<asio::awaitable<std::string>> tasks;
    tasks.push_back(pool.run("spin", ""));
    tasks.push_back(pool.run("echo", "never"));
    auto r = co_await muster::gather(std::move(tasks), o);
    EXPECT_EQ(r[0].status(), status::timed_out);
    EXPECT_EQ(r[1].status(), status::timed_out);
    EXPECT_EQ(pool.workers_started(), 2u);  // only the spinning worker was replaced
}

TEST(ProcessPoolTest, AQueuedTaskPastTheDeadlineNeverRuns) { run(queued_past_deadline()); }

asio::awaitable<void> cancellation_kills() {
    auto po = workers(2);
    process_pool pool(co_await asio::this_coro::executor, po);
    co_await pool.start();
    const auto pids = pool.worker_pids();
    muster::options o;
    o.policy = muster::policy::fail_fast;
    std::vector<asio::awaitable<std::string>> tasks;
    tasks.push_back(pool.run("spin", ""));
    tasks.push_back(pool.run("throws", "stop"));
    auto r = co_await muster::gather(std::move(tasks), o);
    EXPECT_EQ(r[0].status(), status::cancelled);
    EXPECT_EQ(r[1].status(), status::failed);
    // The spinning worker is gone for good; its replacement is a new process.
    int killed = 0;
    for (int pid : pids) killed += process_exists(pid) ? 0 : 1;
    EXPECT_EQ(killed, 1);
    EXPECT_EQ(pool.worker_pids().size(), 2u);
}

TEST(ProcessPoolTest, CancellingARunningTaskKillsItsWorker) { run(cancellation_kills()); }

// ---- lifetime: zombies, strays, shutdown, parent death ------------------------

asio::awaitable<void> thousand_tasks_fifty_crashes() {
    {
        auto po = workers(2);
        process_pool pool(co_await asio::this_coro::executor, po);
        std::vector<asio::awaitable<std::string>> tasks;
        for (int i = 0; i < 1000; ++i) {
            if (i % 20 == 7) {
                tasks.push_back(pool.run(i % 40 == 7 ? "exit_now" : "kill_self", ""));
            } else {
                tasks.push_back(pool.run("echo", std::to_string(i)));
            }
        }
        auto r = co_await muster::gather(std::move(tasks));
        EXPECT_EQ(r.count(status::ok), 950u);
        EXPECT_EQ(r.count(status::failed), 50u);
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (i % 20 == 7) {
                EXPECT_NE(r[i].message().find("worker "), std::string::npos) << r[i].message();
            } else {
                EXPECT_EQ(r[i].value_or(""), std::to_string(i));
            }
        }
        EXPECT_EQ(pool.workers_started(), 52u);
        const auto c = count_children();
        EXPECT_EQ(c.live, 2);
        EXPECT_EQ(c.zombies, 0);
    }
    const auto c = count_children();
    EXPECT_EQ(c.live, 0);
    EXPECT_EQ(c.zombies, 0);
}

TEST(ProcessPoolTest, NoZombiesOrStrayWorkersAfterAThousandTasksWithFiftyCrashes) {
    run(thousand_tasks_fifty_crashes());
}

asio::awaitable<void> shutdown_sleeper(process_pool* pool) {
    asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
    co_await t.async_wait(asio::use_awaitable);
    pool->shutdown();
}

asio::awaitable<void> shutdown_kills() {
    auto io = co_await asio::this_coro::executor;
    auto po = workers(1);
    process_pool pool(io, po);
    asio::co_spawn(io, shutdown_sleeper(&pool), asio::detached);
    std::vector<asio::awaitable<std::string>> tasks;
    tasks.push_back(pool.run("spin", ""));
    tasks.push_back(pool.run("echo", "queued"));
    auto r = co_await muster::gather(std::move(tasks));
    EXPECT_EQ(r.count(status::failed), 2u);
    EXPECT_NE(r[0].message().find("shut down"), std::string::npos) << r[0].message();
    EXPECT_EQ(count_children().live, 0);
    EXPECT_EQ(count_children().zombies, 0);
    EXPECT_THROW(co_await pool.run("echo", "late"), boost::system::system_error);
}

TEST(ProcessPoolTest, ShutdownKillsTheWorkersAndFailsPendingTasks) { run(shutdown_kills()); }

// ---- idle workers hold no work -----------------------------------------------

/// The header's example: a pool on an io_context, one coroutine gathering
/// `pool.run` tasks, then `io.run()`, which must return once they are done
/// although the pool (and its warm workers) outlives it.
TEST(ProcessPoolTest, IoRunReturnsOnceTheTasksAreDoneAsInTheHeaderExample) {
    asio::io_context io;
    process_pool pool(io.get_executor(), workers(2));
    std::string first, second, third;
    status crashed = status::ok;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto r = co_await muster::gather(pool.run("echo", "a"), pool.run("echo", "b"),
                                             pool.run("segfault", ""));
            first = std::get<0>(r).value();
            second = std::get<1>(r).value();
            crashed = std::get<2>(r).status();
        },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io)) << "idle workers kept io.run() from returning";
    EXPECT_EQ(first, "a");
    EXPECT_EQ(second, "b");
    EXPECT_EQ(crashed, status::failed);
    // The workers stay warm across io.run() calls, the crashed one replaced.
    EXPECT_EQ(pool.worker_pids().size(), 2u);
    const auto started = pool.workers_started();

    io.restart();
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { third = co_await pool.run("echo", "c"); },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io));
    EXPECT_EQ(third, "c");
    EXPECT_EQ(pool.workers_started(), started);
}

/// Nothing watches an idle worker, so its death is noticed when it is next
/// handed a task: it is reaped then (no zombie stays) and replaced, and the
/// task runs in the replacement rather than failing.
TEST(ProcessPoolTest, AWorkerThatDiesWhileIdleIsReapedAndReplacedBeforeItsNextTask) {
    asio::io_context io;
    process_pool pool(io.get_executor(), workers(1));
    std::string answer;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { answer = co_await pool.run("echo", "one"); },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io));
    ASSERT_EQ(answer, "one");
    ASSERT_EQ(pool.worker_pids().size(), 1u);
    const int idle_pid = pool.worker_pids()[0];

    ASSERT_EQ(::kill(idle_pid, SIGKILL), 0);
    for (int i = 0; i < 500 && process_exists(idle_pid); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_FALSE(process_exists(idle_pid));

    io.restart();
    std::optional<muster::outcome<std::string>> o;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { o = co_await outcome_of(&pool, "echo", "two"); },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io));
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->value_or("failed: " + o->message()), "two");
    EXPECT_EQ(pool.workers_started(), 2u);
    const auto pids = pool.worker_pids();
    ASSERT_EQ(pids.size(), 1u);
    EXPECT_NE(pids[0], idle_pid);
    const auto c = count_children();
    EXPECT_EQ(c.zombies, 0);
    EXPECT_EQ(c.live, 1);
}

TEST(ProcessPoolTest, WorkersDieWithTheirParent) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    char self[] = "/proc/self/exe";
    char flag[] = "--pool-parent";
    char* argv[] = {self, flag, nullptr};
    pid_t parent = 0;
    ASSERT_EQ(::posix_spawn(&parent, self, &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string line;
    char c = 0;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    std::vector<int> workers;
    std::istringstream in(line);
    for (int pid; in >> pid;) workers.push_back(pid);
    ASSERT_EQ(workers.size(), 2u) << "the parent printed '" << line << "'";
    for (int pid : workers) EXPECT_TRUE(process_exists(pid));

    ::kill(parent, SIGKILL);
    int status = 0;
    ::waitpid(parent, &status, 0);
    const auto give_up = clock::now() + 5s;
    for (int pid : workers) {
        while (process_exists(pid) && clock::now() < give_up) std::this_thread::sleep_for(10ms);
        EXPECT_FALSE(process_exists(pid)) << "worker " << pid << " outlived its parent";
    }
}

// ---- misuse -------------------------------------------------------------------

asio::awaitable<void> not_a_worker() {
    // A program that ignores the worker flag: it exits at once.
    auto po = workers(1);
    po.executable = "/bin/true";
    process_pool pool(co_await asio::this_coro::executor, po);
    try {
        co_await pool.run("echo", "x");
        ADD_FAILURE() << "expected worker_start_error";
    } catch (const muster::worker_start_error& e) {
        EXPECT_STREQ(e.what(),
                     "muster::process_pool: worker /bin/true exited with code 0 before it was "
                     "ready; does its main() call "
                     "muster::process_pool::worker_main_if_requested(argc, argv) first?");
    }
    EXPECT_EQ(count_children().live, 0);
}

TEST(ProcessPoolTest, AProgramThatIsNoWorkerFailsTasksClearlyAndDoesNotHang) {
    run(not_a_worker());
}

asio::awaitable<void> silent_worker(std::string script) {
    auto po = workers(1);
    po.executable = script;
    po.start_timeout = 300ms;
    process_pool pool(co_await asio::this_coro::executor, po);
    const auto t0 = clock::now();
    try {
        co_await pool.run("echo", "x");
        ADD_FAILURE() << "expected worker_start_error";
    } catch (const muster::worker_start_error& e) {
        EXPECT_NE(std::string(e.what()).find("did not report ready within the start timeout"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_GE(clock::now() - t0, 300ms);  // not before the start timeout
}

TEST(ProcessPoolTest, AWorkerThatNeverReportsReadyIsKilledAtTheStartTimeout) {
    char path[] = "/tmp/muster_silent_worker_XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string script = "#!/bin/sh\nexec sleep 10\n";
    ASSERT_EQ(::write(fd, script.data(), script.size()), static_cast<ssize_t>(script.size()));
    ::fchmod(fd, 0700);
    ::close(fd);
    run(silent_worker(path));
    ::unlink(path);
}

TEST(ProcessPoolTest, RegistrationRefusesDuplicatesAndEmptyNames) {
    EXPECT_THROW(muster::register_work("echo", [](std::string_view) { return std::string(); }),
                 std::invalid_argument);
    EXPECT_THROW(muster::register_work("", [](std::string_view) { return std::string(); }),
                 std::invalid_argument);
    EXPECT_THROW(muster::register_work("empty", nullptr), std::invalid_argument);
    EXPECT_TRUE(muster::is_work_registered("segfault"));
}

TEST(ProcessPoolTest, OptionsThatMakeNoSenseAreRefused) {
    asio::io_context io;
    EXPECT_THROW(process_pool(io.get_executor(),
                              [] {
                                  process_pool_options o;
                                  o.max_frame_bytes = 0;
                                  return o;
                              }()),
                 std::invalid_argument);
    EXPECT_THROW(process_pool(io.get_executor(),
                              [] {
                                  process_pool_options o;
                                  o.open_files_limit = 3;
                                  return o;
                              }()),
                 std::invalid_argument);
    EXPECT_THROW(process_pool(io.get_executor(),
                              [] {
                                  process_pool_options o;
                                  o.start_timeout = 0s;
                                  return o;
                              }()),
                 std::invalid_argument);
}

}  // namespace

}  // namespace process_pool_test
