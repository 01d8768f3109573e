#include "directory_store.hpp"
#include "key_claims.hpp"
#include "sqlite_store.hpp"

#include <grp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <muster/core/offload.hpp>

namespace thumbnails {
namespace stores_test {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

template <class T>
T run(asio::awaitable<T> task) {
    asio::io_context io;
    auto f = asio::co_spawn(io, std::move(task), asio::use_future);
    io.run();
    return f.get();
}

void run(asio::awaitable<void> task) {
    asio::io_context io;
    auto f = asio::co_spawn(io, std::move(task), asio::use_future);
    io.run();
    f.get();
}

struct temp_dir {
    std::string path;
    temp_dir() {
        char name[] = "/tmp/thumbnails-test-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~temp_dir() { fs::remove_all(path); }
};

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

metadata_record row(std::string url, std::string key) {
    metadata_record r;
    r.source_url = std::move(url);
    r.message_id = "m";
    r.request_id = "r";
    r.source_bytes = 1234;
    r.width = 640;
    r.height = 480;
    r.format = "jpeg";
    r.thumbnail_key = std::move(key);
    r.thumbnail_location = "/x/" + r.thumbnail_key;
    r.thumbnail_format = "jpeg";
    r.thumbnail_width = 256;
    r.thumbnail_height = 192;
    r.thumbnail_bytes = 999;
    r.dhash = 0xfedcba9876543210u;
    r.average_color = "#123456";
    r.fetch_ms = 1.5;
    r.decode_ms = 2.5;
    r.store_ms = 3.5;
    r.processed_at = "2024-05-01T10:00:00.000Z";
    return r;
}

/// Runs `sql` on a separate connection and returns the first column of every row.
std::vector<std::string> query(const std::string& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::vector<std::string> out;
    auto collect = [](void* o, int, char** values, char**) {
        static_cast<std::vector<std::string>*>(o)->push_back(values[0] ? values[0] : "NULL");
        return 0;
    };
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), collect, &out, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
}

TEST(DirectoryStoreTest, PutWritesTheWholeFileUnderItsKeyAndNothingElse) {
    temp_dir d;
    directory_store store(d.path + "/thumbs");
    const std::string location = run(store.put("abc.jpg", std::string(100'000, 'x'), "image/jpeg"));
    EXPECT_EQ(location, d.path + "/thumbs/abc.jpg");
    EXPECT_EQ(read(location), std::string(100'000, 'x'));
    EXPECT_EQ(names_in(d.path + "/thumbs"), std::set<std::string>{"abc.jpg"});
    // A second put replaces it.
    (void)run(store.put("abc.jpg", "new", "image/jpeg"));
    EXPECT_EQ(read(location), "new");
    EXPECT_EQ(names_in(d.path + "/thumbs"), std::set<std::string>{"abc.jpg"});
}

TEST(DirectoryStoreTest, RemoveIsIdempotent) {
    temp_dir d;
    directory_store store(d.path);
    (void)run(store.put("k.png", "png", "image/png"));
    run(store.remove("k.png"));
    EXPECT_TRUE(names_in(d.path).empty());
    run(store.remove("k.png"));
    run(store.remove("never-there.png"));
}

TEST(DirectoryStoreTest, KeysMustBePlainFileNames) {
    temp_dir d;
    directory_store store(d.path);
    for (const char* key : {"", "../escape.jpg", "a/b.jpg", ".hidden.jpg"}) {
        EXPECT_THROW((void)run(store.put(key, "x", "image/jpeg")), std::invalid_argument) << key;
    }
}

TEST(DirectoryStoreTest, LeftoversOfDeadProcessesAreCleanedUp) {
    temp_dir d;
    // A temporary file of a process that is gone (pid 1 is alive; find a dead one).
    pid_t dead = 4'000'000;
    while (::kill(dead, 0) == 0 || errno != ESRCH) ++dead;
    const std::string stale = d.path + "/.k.jpg." + std::to_string(dead) + ".7.tmp";
    const std::string live = d.path + "/.k.jpg." + std::to_string(::getppid()) + ".8.tmp";
    std::ofstream(stale) << "half";
    std::ofstream(live) << "half";
    std::ofstream(d.path + "/kept.jpg") << "whole";
    directory_store store(d.path);
    EXPECT_EQ(names_in(d.path),
              (std::set<std::string>{"kept.jpg", fs::path(live).filename().string()}));
}

// The errno directory_store's constructor fails with on `directory`, 0 when it succeeds, -1
// when it throws anything but std::system_error.
int open_error(const std::string& directory) {
    try {
        directory_store store(directory);
        return 0;
    } catch (const std::system_error& e) {
        return e.code().value();
    } catch (...) {
        return -1;
    }
}

TEST(DirectoryStoreTest, WritesDoNotWaitForTheCpuPool) {
    temp_dir d;
    directory_store store(d.path);
    // Every thread of the CPU pool busy with work that ends only when released, as decodes
    // keep it: the store's writes and fsyncs must not queue behind them.
    std::promise<void> release;
    const std::shared_future<void> released = release.get_future().share();
    std::once_flag released_once;
    std::atomic<bool> released_by_watchdog{false};
    auto release_pool = [&](bool by_watchdog) {
        std::call_once(released_once, [&] {
            released_by_watchdog = by_watchdog;
            release.set_value();
        });
    };
    const unsigned threads = muster::default_cpu_count();
    std::atomic<unsigned> busy{0};
    for (unsigned i = 0; i < threads; ++i) {
        asio::post(muster::cpu_pool(), [released, &busy] {
            ++busy;
            released.wait();
        });
    }
    while (busy < threads) std::this_thread::yield();
    // Without this the test would hang, not fail, when a write waits for the pool.
    std::atomic<bool> finished{false};
    std::thread watchdog([&] {
        for (int i = 0; i < 400 && !finished; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        release_pool(true);
    });
    auto work = [&store]() -> asio::awaitable<void> {
        auto put = store.put("k.jpg", "bytes", "image/jpeg");
        (void)co_await std::move(put);
        auto sync = store.sync();
        co_await std::move(sync);
        auto remove = store.remove("k.jpg");
        co_await std::move(remove);
    };
    run(work());
    finished = true;
    release_pool(false);
    watchdog.join();
    EXPECT_FALSE(released_by_watchdog) << "the store's calls waited for the CPU pool";
    EXPECT_TRUE(names_in(d.path).empty());
}

TEST(DirectoryStoreTest, UnwritableDirectoryIsAnError) {
    temp_dir d;
    fs::permissions(d.path, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                fs::perms::group_exec | fs::perms::others_read |
                                fs::perms::others_exec);
    if (::geteuid() != 0) {
        EXPECT_EQ(open_error(d.path), EACCES);
        return;
    }
    // Root writes anywhere (and CI runs as root): the store is opened by a child that has
    // dropped to an unprivileged user, which the read-only directory refuses.
    const pid_t child = ::fork();
    ASSERT_NE(child, -1) << std::strerror(errno);
    if (child == 0) {
        constexpr uid_t nobody = 65534;
        if (::setgroups(0, nullptr) != 0 || ::setgid(nobody) != 0 || ::setuid(nobody) != 0) {
            ::_exit(100);
        }
        ::_exit(open_error(d.path) == EACCES ? 0 : 101);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 100) << "the child could not drop its privileges";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the store opened, or failed for another reason";
}

TEST(SqliteStoreTest, CommitWritesEveryRowInWalMode) {
    temp_dir d;
    const std::string db = d.path + "/t.db";
    sqlite_store store(db);
    run(store.commit({row("http://a/1.jpg", "k1.jpg"), row("http://a/2.jpg", "k2.jpg")}));
    EXPECT_EQ(query(db, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
    EXPECT_EQ(query(db, "SELECT source_url FROM thumbnails ORDER BY source_url"),
              (std::vector<std::string>{"http://a/1.jpg", "http://a/2.jpg"}));
    EXPECT_EQ(query(db, "SELECT dhash || ' ' || average_color || ' ' || width || 'x' || height || "
                        "' ' || thumbnail_width || 'x' || thumbnail_height || ' ' || fetch_ms "
                        "FROM thumbnails LIMIT 1"),
              std::vector<std::string>{"fedcba9876543210 #123456 640x480 256x192 1.5"});
}

TEST(SqliteStoreTest, ASourceHasOneRowTheNewest) {
    temp_dir d;
    const std::string db = d.path + "/t.db";
    sqlite_store store(db);
    run(store.commit({row("http://a/1.jpg", "k1.jpg")}));
    auto newer = row("http://a/1.jpg", "k1.jpg");
    newer.message_id = "m2";
    run(store.commit({newer}));
    EXPECT_EQ(query(db, "SELECT message_id FROM thumbnails"), std::vector<std::string>{"m2"});
}

TEST(SqliteStoreTest, AFailedCommitWritesNothing) {
    temp_dir d;
    const std::string db = d.path + "/t.db";
    sqlite_store store(db);
    // Another connection holds the write lock past the busy timeout.
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite_store impatient(db, std::chrono::milliseconds(50));
    EXPECT_THROW(run(impatient.commit({row("http://a/1.jpg", "k1.jpg")})), std::runtime_error);
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    EXPECT_TRUE(query(db, "SELECT source_url FROM thumbnails").empty());
    run(store.commit({row("http://a/1.jpg", "k1.jpg")}));
    EXPECT_EQ(query(db, "SELECT count(*) FROM thumbnails"), std::vector<std::string>{"1"});
}

TEST(SqliteStoreTest, CommittedKeysAreTheOnesRowsReferTo) {
    temp_dir d;
    sqlite_store store(d.path + "/t.db");
    run(store.commit({row("http://a/1.jpg", "k1.jpg"), row("http://a/2.jpg", "k2.jpg")}));
    EXPECT_EQ(run(store.committed_keys({"k0.jpg", "k2.jpg", "k1.jpg", "k3.jpg"})),
              (std::vector<std::string>{"k2.jpg", "k1.jpg"}));
}

TEST(SqliteStoreTest, NotADatabaseIsAnError) {
    temp_dir d;
    std::ofstream(d.path + "/junk.db") << std::string(4096, 'j');
    EXPECT_THROW(sqlite_store(d.path + "/junk.db"), std::runtime_error);
}

TEST(KeyClaimsTest, RemovalOnlyWithoutClaimsAndClaimsWaitForIt) {
    asio::io_context io;
    key_claims claims(io.get_executor());
    std::vector<std::string> events;
    auto scenario = [&]() -> asio::awaitable<void> {
        co_await claims.claim("k");
        EXPECT_FALSE(claims.begin_removal("k"));  // claimed
        claims.release("k");
        EXPECT_TRUE(claims.begin_removal("k"));
        EXPECT_FALSE(claims.begin_removal("k"));  // already being removed
        // A claim now waits until the removal ends.
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await claims.claim("k");
                events.push_back("claimed");
            },
            asio::detached);
        asio::steady_timer t(io, std::chrono::milliseconds(20));
        co_await t.async_wait(asio::use_awaitable);
        events.push_back("removed");
        claims.end_removal("k");
    };
    asio::co_spawn(io, scenario, asio::detached);
    io.run();
    EXPECT_EQ(events, (std::vector<std::string>{"removed", "claimed"}));
    EXPECT_EQ(claims.claims("k"), 1u);
}

}  // namespace
}  // namespace stores_test
}  // namespace thumbnails
