#include "sqlite_store.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

#include <muster/core/offload.hpp>

namespace thumbnails {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS thumbnails (
    source_url         TEXT PRIMARY KEY,
    message_id         TEXT NOT NULL,
    request_id         TEXT NOT NULL,
    source_bytes       INTEGER NOT NULL,
    width              INTEGER NOT NULL,
    height             INTEGER NOT NULL,
    format             TEXT NOT NULL,
    thumbnail_key      TEXT NOT NULL,
    thumbnail_location TEXT NOT NULL,
    thumbnail_format   TEXT NOT NULL,
    thumbnail_width    INTEGER NOT NULL,
    thumbnail_height   INTEGER NOT NULL,
    thumbnail_bytes    INTEGER NOT NULL,
    dhash              TEXT NOT NULL,
    average_color      TEXT NOT NULL,
    fetch_ms           REAL NOT NULL,
    decode_ms          REAL NOT NULL,
    store_ms           REAL NOT NULL,
    processed_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS thumbnails_by_key ON thumbnails (thumbnail_key);
)sql";

constexpr const char* upsert = R"sql(
INSERT INTO thumbnails (source_url, message_id, request_id, source_bytes, width, height, format,
    thumbnail_key, thumbnail_location, thumbnail_format, thumbnail_width, thumbnail_height,
    thumbnail_bytes, dhash, average_color, fetch_ms, decode_ms, store_ms, processed_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
ON CONFLICT (source_url) DO UPDATE SET
    message_id = excluded.message_id, request_id = excluded.request_id,
    source_bytes = excluded.source_bytes, width = excluded.width, height = excluded.height,
    format = excluded.format, thumbnail_key = excluded.thumbnail_key,
    thumbnail_location = excluded.thumbnail_location,
    thumbnail_format = excluded.thumbnail_format, thumbnail_width = excluded.thumbnail_width,
    thumbnail_height = excluded.thumbnail_height, thumbnail_bytes = excluded.thumbnail_bytes,
    dhash = excluded.dhash, average_color = excluded.average_color,
    fetch_ms = excluded.fetch_ms, decode_ms = excluded.decode_ms,
    store_ms = excluded.store_ms, processed_at = excluded.processed_at
)sql";

}  // namespace

/// The connection and its prepared statements; used only on the store's thread (and in the
/// constructor and destructor, before and after that thread runs).
struct sqlite_store::connection {
    sqlite3* db = nullptr;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* find_key = nullptr;

    ~connection() {
        sqlite3_finalize(insert);
        sqlite3_finalize(find_key);
        sqlite3_close_v2(db);
    }

    [[noreturn]] void fail(const char* during) const {
        throw std::runtime_error(std::string("sqlite: ") + (db ? sqlite3_errmsg(db) : "no memory") +
                                 " (in " + during + ")");
    }

    void exec(const char* sql, const char* during) {
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(during);
    }

    void bind(int i, const std::string& s) {
        if (sqlite3_bind_text(insert, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT) !=
            SQLITE_OK) {
            fail("bind");
        }
    }
    void bind(int i, std::uint64_t n) {
        if (sqlite3_bind_int64(insert, i, static_cast<sqlite3_int64>(n)) != SQLITE_OK) fail("bind");
    }
    void bind(int i, int n) {
        if (sqlite3_bind_int(insert, i, n) != SQLITE_OK) fail("bind");
    }
    void bind(int i, double x) {
        if (sqlite3_bind_double(insert, i, x) != SQLITE_OK) fail("bind");
    }

    void write(const metadata_record& r) {
        sqlite3_reset(insert);
        bind(1, r.source_url);
        bind(2, r.message_id);
        bind(3, r.request_id);
        bind(4, r.source_bytes);
        bind(5, r.width);
        bind(6, r.height);
        bind(7, r.format);
        bind(8, r.thumbnail_key);
        bind(9, r.thumbnail_location);
        bind(10, r.thumbnail_format);
        bind(11, r.thumbnail_width);
        bind(12, r.thumbnail_height);
        bind(13, r.thumbnail_bytes);
        bind(14, hex64(r.dhash));
        bind(15, r.average_color);
        bind(16, r.fetch_ms);
        bind(17, r.decode_ms);
        bind(18, r.store_ms);
        bind(19, r.processed_at);
        if (sqlite3_step(insert) != SQLITE_DONE) fail("INSERT");
    }

    void commit(const std::vector<metadata_record>& records) {
        // IMMEDIATE takes the write lock now, so a busy database fails here, before any row.
        exec("BEGIN IMMEDIATE", "BEGIN");
        try {
            for (const auto& r : records) write(r);
            exec("COMMIT", "COMMIT");
        } catch (...) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    std::vector<std::string> committed(const std::vector<std::string>& keys) {
        std::vector<std::string> found;
        for (const auto& key : keys) {
            sqlite3_reset(find_key);
            if (sqlite3_bind_text(find_key, 1, key.data(), static_cast<int>(key.size()),
                                  SQLITE_TRANSIENT) != SQLITE_OK) {
                fail("bind");
            }
            const int rc = sqlite3_step(find_key);
            if (rc == SQLITE_ROW) {
                found.push_back(key);
            } else if (rc != SQLITE_DONE) {
                fail("SELECT");
            }
        }
        sqlite3_reset(find_key);
        return found;
    }
};

sqlite_store::sqlite_store(const std::string& path, std::chrono::milliseconds busy_timeout)
    : db_(std::make_shared<connection>()) {
    // FULLMUTEX is not needed (one thread uses the connection) but costs nothing measurable.
    if (sqlite3_open_v2(path.c_str(), &db_->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        throw std::runtime_error("cannot open the metadata database " + path + ": " +
                                 (db_->db ? sqlite3_errmsg(db_->db) : "no memory"));
    }
    try {
        sqlite3_busy_timeout(db_->db, static_cast<int>(busy_timeout.count()));
        // WAL: readers (a reporting tool, the tests) never block the function's commits.
        std::string mode;
        auto read_mode = [](void* out, int columns, char** values, char**) {
            if (columns > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
            return 0;
        };
        if (sqlite3_exec(db_->db, "PRAGMA journal_mode=WAL", read_mode, &mode, nullptr) !=
            SQLITE_OK) {
            db_->fail("PRAGMA journal_mode");
        }
        if (mode != "wal") {
            throw std::runtime_error("the journal mode stays '" + mode + "', WAL is not available");
        }
        db_->exec("PRAGMA synchronous=FULL", "PRAGMA synchronous");
        db_->exec(schema, "CREATE TABLE");
        if (sqlite3_prepare_v2(db_->db, upsert, -1, &db_->insert, nullptr) != SQLITE_OK) {
            db_->fail("prepare INSERT");
        }
        if (sqlite3_prepare_v2(db_->db,
                               "SELECT 1 FROM thumbnails WHERE thumbnail_key = ?1 LIMIT 1", -1,
                               &db_->find_key, nullptr) != SQLITE_OK) {
            db_->fail("prepare SELECT");
        }
    } catch (const std::runtime_error& e) {
        throw std::runtime_error("cannot use the metadata database " + path + ": " + e.what());
    }
}

sqlite_store::~sqlite_store() { thread_.join(); }

boost::asio::awaitable<void> sqlite_store::commit(std::vector<metadata_record> records) {
    if (records.empty()) co_return;
    auto write = [db = db_, records = std::move(records)] { db->commit(records); };
    auto done = muster::offload(thread_.get_executor(), std::move(write));
    co_await std::move(done);
}

boost::asio::awaitable<std::vector<std::string>> sqlite_store::committed_keys(
    std::vector<std::string> thumbnail_keys) {
    if (thumbnail_keys.empty()) co_return std::vector<std::string>{};
    auto read = [db = db_, keys = std::move(thumbnail_keys)] { return db->committed(keys); };
    auto found = muster::offload(thread_.get_executor(), std::move(read));
    co_return co_await std::move(found);
}

}  // namespace thumbnails
