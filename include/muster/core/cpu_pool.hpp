/// @file
/// `cpu_pool`, the one process-wide thread pool `offload(fn)` runs on, and
/// `default_cpu_count`, its size: the vCPUs the process may use, read from
/// `MUSTER_CPU_THREADS`, the cgroup's CPU quota or the hardware.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>

namespace muster {

namespace detail {

/// Parses one non-negative decimal integer that fills all of `text`.
inline std::optional<std::uint64_t> parse_count(std::string_view text) noexcept {
    std::uint64_t n = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc{} || p != end || text.empty()) return std::nullopt;
    return n;
}

/// Splits `text` at ASCII whitespace.
inline std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    constexpr std::string_view space = " \t\r\n";
    std::size_t i = text.find_first_not_of(space);
    while (i != std::string_view::npos) {
        std::size_t j = text.find_first_of(space, i);
        fields.push_back(
            text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
        i = j == std::string_view::npos ? j : text.find_first_not_of(space, j);
    }
    return fields;
}

/// ceil(quota / period), or nullopt when either is zero; saturates at
/// `unsigned`'s maximum.
inline std::optional<unsigned> cpus_for_quota(std::uint64_t quota, std::uint64_t period) noexcept {
    if (quota == 0 || period == 0) return std::nullopt;
    const std::uint64_t cpus = quota / period + (quota % period != 0 ? 1 : 0);
    return static_cast<unsigned>(
        std::min<std::uint64_t>(cpus, std::numeric_limits<unsigned>::max()));
}

/// The CPUs a cgroup v2 `cpu.max` allows: its text is `"$MAX $PERIOD"`, for
/// example `"200000 100000\n"` (2 CPUs) or `"150000 100000"` (1.5, rounded up
/// to 2). Returns nullopt when there is no limit (`"max 100000"`) or when the
/// text is not of that form, meaning "fall back to the next source".
inline std::optional<unsigned> cpu_count_from_cgroup(std::string_view cpu_max_text) {
    const auto fields = split_fields(cpu_max_text);
    if (fields.size() != 2 || fields[0] == "max") return std::nullopt;
    const auto quota = parse_count(fields[0]);
    const auto period = parse_count(fields[1]);
    if (!quota || !period) return std::nullopt;
    return cpus_for_quota(*quota, *period);
}

/// The CPUs a cgroup v1 quota allows, from the texts of `cpu.cfs_quota_us`
/// and `cpu.cfs_period_us`. Returns nullopt for no limit (a quota of `-1`) or
/// unreadable text.
inline std::optional<unsigned> cpu_count_from_cgroup_v1(std::string_view quota_text,
                                                        std::string_view period_text) {
    const auto quota = split_fields(quota_text);
    const auto period = split_fields(period_text);
    if (quota.size() != 1 || period.size() != 1) return std::nullopt;
    const auto q = parse_count(quota[0]);  // "-1" (no limit) does not parse: falls back
    const auto p = parse_count(period[0]);
    if (!q || !p) return std::nullopt;
    return cpus_for_quota(*q, *p);
}

/// The process's cgroup v2 path (`"/system.slice/x.service"`) from the text of
/// `/proc/self/cgroup`, i.e. its `0::<path>` line; nullopt when it has none.
inline std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup) {
    std::size_t line_start = 0;
    while (line_start < proc_self_cgroup.size()) {
        std::size_t line_end = proc_self_cgroup.find('\n', line_start);
        if (line_end == std::string_view::npos) line_end = proc_self_cgroup.size();
        const auto line = proc_self_cgroup.substr(line_start, line_end - line_start);
        if (line.starts_with("0::/")) return std::string(line.substr(3));
        line_start = line_end + 1;
    }
    return std::nullopt;
}

/// The name of the variable that overrides the CPU pool's size.
inline constexpr const char* cpu_threads_variable = "MUSTER_CPU_THREADS";

/// Everything the pool size is decided from, as read from the system; plain
/// text so the decision can be tested without the real files.
struct cpu_sources {
    std::optional<std::string> env;                ///< `MUSTER_CPU_THREADS`, when set.
    std::optional<std::string> cgroup_v2_cpu_max;  ///< Text of the cgroup v2 `cpu.max`.
    std::optional<std::string> cgroup_v1_quota;    ///< Text of `cpu.cfs_quota_us`.
    std::optional<std::string> cgroup_v1_period;   ///< Text of `cpu.cfs_period_us`.
    unsigned hardware = 0;                         ///< `hardware_concurrency()`; 0 if unknown.
};

/// Decides the pool size: `env` when set (it must be a positive integer, or
/// `std::invalid_argument` is thrown), else the cgroup v2 quota, else the v1
/// quota, else `hardware`; a quota never exceeds `hardware` when that is
/// known; the result is at least 1.
inline unsigned resolve_cpu_count(const cpu_sources& s) {
    if (s.env) {
        const auto fields = split_fields(*s.env);
        const auto n = fields.size() == 1 ? parse_count(fields[0]) : std::nullopt;
        if (!n || *n == 0 || *n > std::numeric_limits<unsigned>::max()) {
            throw std::invalid_argument(std::string("muster: ") + cpu_threads_variable +
                                        " must be a positive integer, got '" + *s.env + "'");
        }
        return static_cast<unsigned>(*n);
    }
    std::optional<unsigned> quota;
    if (s.cgroup_v2_cpu_max) quota = cpu_count_from_cgroup(*s.cgroup_v2_cpu_max);
    if (!quota && s.cgroup_v1_quota && s.cgroup_v1_period) {
        quota = cpu_count_from_cgroup_v1(*s.cgroup_v1_quota, *s.cgroup_v1_period);
    }
    unsigned n = s.hardware;
    if (quota) n = s.hardware == 0 ? *quota : std::min(*quota, s.hardware);
    return std::max(n, 1u);
}

/// The whole (small) file at `path`, or nullopt when it cannot be read.
inline std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(text).str();
}

/// Reads the sources `resolve_cpu_count` decides from: the environment, the
/// process's own cgroup v2 `cpu.max` (then the one at the cgroup root, which is
/// the process's own inside a container), the cgroup v1 CFS quota, and
/// `std::thread::hardware_concurrency()`.
inline cpu_sources read_cpu_sources() {
    cpu_sources s;
    if (const char* env = std::getenv(cpu_threads_variable)) s.env = env;
    if (auto self = read_text_file("/proc/self/cgroup")) {
        if (auto path = cgroup_v2_path(*self); path && *path != "/") {
            s.cgroup_v2_cpu_max = read_text_file("/sys/fs/cgroup" + *path + "/cpu.max");
        }
    }
    if (!s.cgroup_v2_cpu_max) s.cgroup_v2_cpu_max = read_text_file("/sys/fs/cgroup/cpu.max");
    for (const char* dir : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
        s.cgroup_v1_quota = read_text_file(std::string(dir) + "/cpu.cfs_quota_us");
        s.cgroup_v1_period = read_text_file(std::string(dir) + "/cpu.cfs_period_us");
        if (s.cgroup_v1_quota && s.cgroup_v1_period) break;
    }
    s.hardware = std::thread::hardware_concurrency();
    return s;
}

}  // namespace detail

/// The number of threads `cpu_pool()` has (or would have, if created now):
/// `MUSTER_CPU_THREADS` when set, else the CPU quota of the process's cgroup
/// (v2 `cpu.max`, then v1 `cpu.cfs_quota_us / cpu.cfs_period_us`, rounded up
/// and capped at the hardware's count), else
/// `std::thread::hardware_concurrency()`; never less than 1.
///
/// Errors: `std::invalid_argument` when `MUSTER_CPU_THREADS` is set but is not
/// a positive integer (a misconfiguration is reported, never guessed around).
///
/// Thread-safety: reads the environment and a few files on every call; safe to
/// call from any thread as long as nobody modifies the environment meanwhile.
///
/// @code
/// std::printf("offloading to %u threads\n", muster::default_cpu_count());
/// @endcode
inline unsigned default_cpu_count() {
    return detail::resolve_cpu_count(detail::read_cpu_sources());
}

/// The process-wide CPU pool that `offload(fn)` runs on, created on first use
/// with `default_cpu_count()` threads.
///
/// Lifetime: a function-local static, destroyed at exit (its destructor stops
/// the pool and joins its threads). Do not offload from static destructors.
///
/// Errors: the first call throws what `default_cpu_count()` throws; a later
/// call tries again.
///
/// Thread-safety: safe to call from any thread; the pool's executor is
/// thread-safe.
///
/// @code
/// boost::asio::post(muster::cpu_pool(), [] { warm_caches(); });
/// @endcode
inline boost::asio::thread_pool& cpu_pool() {
    static boost::asio::thread_pool pool(default_cpu_count());
    return pool;
}

}  // namespace muster
