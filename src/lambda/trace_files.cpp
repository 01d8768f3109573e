#include "trace_files.hpp"

#include <exception>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <system_error>

#include <muster/core/trace_html.hpp>
#include <muster/core/trace_json.hpp>

#include "config.hpp"

namespace muster::lambda::detail {

namespace {

/// A request id as a file name: anything but letters, digits, '.', '-'
/// and '_' becomes '_', so an id can never leave the trace directory.
std::string file_name_for(std::string_view request_id) {
    std::string name;
    for (char c : request_id) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        name += plain ? c : '_';
    }
    if (name.empty() || name.find_first_not_of('.') == std::string::npos) name = "_" + name;
    return name;
}

/// Writes `path` through a temporary file renamed into place, so a reader
/// never sees half a trace. Returns what went wrong, or an empty string.
template <class Write>
std::string write_atomically(const std::filesystem::path& path, Write write) {
    std::filesystem::path temporary = path;
    temporary += ".partial";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) return "cannot open " + temporary.string() + " for writing";
        write(out);
        out.flush();
        if (!out) return "cannot write " + temporary.string();
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        std::filesystem::remove(temporary, ec);
        return "cannot rename " + temporary.string() + " to " + path.string();
    }
    return {};
}

}  // namespace

std::shared_ptr<trace::recorder> start_trace(const runtime_config& config,
                                             std::string_view request_id,
                                             clock::time_point received) {
    if (config.trace_directory.empty()) return nullptr;
    auto recorder = std::make_shared<trace::recorder>(std::string(request_id), received);
    recorder->set_attribute("request_id", std::string(request_id));
    if (!config.function_name.empty()) recorder->set_attribute("function", config.function_name);
    return recorder;
}

void write_trace(const std::string& directory, const trace::recorder& rec, const invocation& inv) {
    namespace fs = std::filesystem;
    try {
        const fs::path dir(directory);
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) {
            inv.log().error("MUSTER_TRACE: cannot create the directory " + directory + ": " +
                            ec.message() + "; no trace written");
            return;
        }
        const std::string base = file_name_for(inv.request_id());
        const fs::path json = dir / (base + ".trace.json");
        const fs::path html = dir / (base + ".html");
        std::string problem =
            write_atomically(json, [&rec](std::ostream& os) { trace::write_chrome_json(rec, os); });
        if (problem.empty()) {
            problem =
                write_atomically(html, [&rec](std::ostream& os) { trace::write_html(rec, os); });
        }
        if (!problem.empty()) {
            inv.log().error("MUSTER_TRACE: " + problem + "; the trace is incomplete");
            return;
        }
        inv.log().debug("trace written to " + html.string() + " and " + json.string());
    } catch (const std::exception& e) {
        inv.log().error(std::string("MUSTER_TRACE: writing the trace failed: ") + e.what());
    }
}

}  // namespace muster::lambda::detail
