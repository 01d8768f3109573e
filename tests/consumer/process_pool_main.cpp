// A program built against an installed muster::process_pool: it is its own
// worker, runs one task in a worker process and checks the answer.
#include <muster/process_pool.hpp>

#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace {

std::string reverse(std::string_view in) { return std::string(in.rbegin(), in.rend()); }
const muster::work_registrar reverse_work{"reverse", reverse};

}  // namespace

int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
    boost::asio::io_context io;
    std::string answer;
    muster::process_pool_options options;
    options.workers = 1;
    muster::process_pool pool(io.get_executor(), options);
    boost::asio::co_spawn(io, pool.run("reverse", "looc"),
                          [&](std::exception_ptr e, std::string r) {
                              if (!e) answer = std::move(r);
                          });
    // Returns once the task is done: the idle worker holds no work.
    io.run();
    return answer == "cool" ? 0 : 1;
}
