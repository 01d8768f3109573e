/// @file
/// What both trace writers share: the order of rows, escaping for JSON and
/// HTML, and number formatting that ignores the C locale (a program that
/// set LC_NUMERIC must still produce `12.5`, never `12,5`). Internal.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <muster/core/trace.hpp>

namespace muster::detail {

/// Length of the well-formed UTF-8 sequence at `s[i]`, or 0 when the bytes
/// there are not one (overlong forms, surrogates and truncation included).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) return 1;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
        cp = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        cp = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        cp = lead & 0x07u;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0u) != 0x80u) return 0;
        cp = (cp << 6) | (c & 0x3Fu);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return n;
}

/// Appends `s` as a JSON string literal, quotes included. Bytes that are
/// not UTF-8 become U+FFFD, so the file is always valid JSON.
inline void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        if (n > 1) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
}

/// Appends `s` as HTML text, safe in element content and in quoted
/// attributes. Newlines become `&#10;` (kept in a `title` tooltip); other
/// control characters and bytes that are not UTF-8 become U+FFFD.
inline void append_html_text(std::string& out, std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        if (n > 1) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            case '\n':
                out += "&#10;";
                break;
            case '\t':
                out += ' ';
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    out += "\xEF\xBF\xBD";
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
}

/// Appends `value / 10^decimals` in fixed notation with a '.' and without
/// trailing zeros (`12.5`, `3`, `-0.125`).
inline void append_scaled(std::string& out, std::int64_t value, int decimals) {
    std::int64_t scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    if (value < 0) {
        out += '-';
        value = -value;
    }
    out += std::to_string(value / scale);
    std::int64_t frac = value % scale;
    if (frac == 0) return;
    std::string digits = std::to_string(frac);
    digits.insert(0, static_cast<std::size_t>(decimals) - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
}

/// Appends `d` in microseconds with nanosecond precision (`1234.567`).
inline void append_micros(std::string& out, clock::duration d) {
    append_scaled(out, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(), 3);
}

/// Appends `fraction` as a CSS percentage number (no unit), 3 decimals.
inline void append_percent(std::string& out, double fraction) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    append_scaled(out, static_cast<std::int64_t>(fraction * 100'000.0 + 0.5), 3);
}

/// A duration for people: `850 µs`, `12.3 ms`, `4.21 s`.
inline std::string human_duration(clock::duration d) {
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    const std::int64_t mag = ns < 0 ? -ns : ns;
    std::string out;
    if (mag < 1'000'000) {
        append_scaled(out, ns / 1000, 0);
        out += " \xC2\xB5s";
    } else if (mag < 1'000'000'000) {
        append_scaled(out, ns / 100'000, 1);
        out += " ms";
    } else {
        append_scaled(out, ns / 10'000'000, 2);
        out += " s";
    }
    return out;
}

/// One line of a trace: a collection's header or a task's span, at a depth
/// (a top-level collection is at 0, its tasks at 1, a collection run by one
/// of those tasks at 1, its tasks at 2...).
struct trace_row {
    enum class kind : std::uint8_t { collection, span } what;
    std::size_t item;  ///< Index into collections(), or into spans().
    std::size_t depth;
};

/// The rows of a trace in timeline order: each collection (in the order they
/// were opened) followed by its tasks (in index order), each task followed
/// by the collections its body ran.
inline std::vector<trace_row> trace_rows(const trace::recorder& r) {
    const auto& spans = r.spans();
    const auto& collections = r.collections();
    std::vector<std::vector<std::size_t>> spans_of(collections.size());
    for (std::size_t i = 0; i < spans.size(); ++i) spans_of[spans[i].collection].push_back(i);
    for (auto& v : spans_of) {
        std::stable_sort(v.begin(), v.end(), [&spans](std::size_t a, std::size_t b) {
            return spans[a].index < spans[b].index;
        });
    }
    // Collections by the span that ran them; slot 0 is the top level.
    std::vector<std::vector<std::size_t>> run_by(spans.size() + 1);
    for (std::size_t c = 0; c < collections.size(); ++c) {
        const std::size_t p = collections[c].parent;
        run_by[p < run_by.size() ? p : 0].push_back(c);
    }

    std::vector<trace_row> rows;
    rows.reserve(spans.size() + collections.size());
    // Recursion goes as deep as collections nest in the program itself.
    struct walker {
        const std::vector<trace::span>& spans;
        const std::vector<std::vector<std::size_t>>& spans_of;
        const std::vector<std::vector<std::size_t>>& run_by;
        std::vector<trace_row>& rows;
        void collection(std::size_t c, std::size_t depth) {
            rows.push_back({trace_row::kind::collection, c, depth});
            for (std::size_t s : spans_of[c]) {
                rows.push_back({trace_row::kind::span, s, depth + 1});
                for (std::size_t child : run_by[spans[s].id]) collection(child, depth + 1);
            }
        }
    };
    walker w{spans, spans_of, run_by, rows};
    for (std::size_t c : run_by[0]) w.collection(c, 0);
    return rows;
}

}  // namespace muster::detail
