/// @file
/// Work functions: the named `bytes -> bytes` functions a `process_pool`
/// worker can run, registered in the program that is both parent and worker.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace muster {

/// A function a pool worker runs: the task's input bytes in, its result
/// bytes out. What the bytes mean (an image, a JSON document) is the
/// function's business.
///
/// Errors: an exception it throws is carried back to the awaiting task as a
/// `work_error` with the exception's message and type name; the worker stays
/// up. A crash (a signal, `exit`, `abort`) fails only the task that caused it.
using work_function = std::function<std::string(std::string_view input)>;

/// Registers `fn` under `name` in this program's process-wide registry.
///
/// Register every function before `main` reaches
/// `process_pool::worker_main_if_requested` (a namespace-scope
/// `work_registrar` does, being constructed before `main`), so the worker,
/// which is this same program started again, knows the same names.
///
/// Errors: `std::invalid_argument` when `name` is empty or already
/// registered, or `fn` is empty.
///
/// Thread-safety: safe to call from any thread, but registering while pools
/// run makes the set of names depend on timing: do it at start-up.
///
/// @code
/// muster::register_work("upper", [](std::string_view in) {
///     std::string out(in);
///     for (char& c : out) c = static_cast<char>(std::toupper(c));
///     return out;
/// });
/// @endcode
void register_work(std::string name, work_function fn);

/// True when a function is registered under `name`.
///
/// Thread-safety: safe to call from any thread.
bool is_work_registered(std::string_view name);

/// The registered names, sorted.
std::vector<std::string> registered_work();

/// Registers a work function when constructed, so that a definition at
/// namespace scope registers it before `main` runs.
///
/// Errors: the constructor throws what `register_work` throws, which at
/// namespace scope ends the program before `main` (a duplicate name is a
/// bug to see at once).
///
/// @code
/// std::string make_thumbnail(std::string_view image);
/// const muster::work_registrar thumbnail_work{"thumbnail", make_thumbnail};
/// @endcode
class work_registrar {
  public:
    work_registrar(std::string name, work_function fn) {
        register_work(std::move(name), std::move(fn));
    }
};

}  // namespace muster
