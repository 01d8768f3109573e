// The `bootstrap` of a function packaged by muster_add_lambda(<target>
// BUNDLE), linked static: it runs bin/<function> through the dynamic loader
// shipped in lib/, with lib/ as the only library path, so the function uses
// the glibc it was built with whatever glibc the image has.
//
// The package's directory is the directory of this program: /proc/self/exe
// when /proc is there, else argv[0] when it holds a slash (Lambda starts
// /var/task/bootstrap by its full path), else LAMBDA_TASK_ROOT.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef MUSTER_FUNCTION_NAME
#error "MUSTER_FUNCTION_NAME must name the function in bin/"
#endif

namespace {

std::string package_directory(const char* argv0) {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string path;
    if (n > 0) {
        path.assign(self, static_cast<std::size_t>(n));
    } else if (argv0 != nullptr && std::strchr(argv0, '/') != nullptr) {
        path = argv0;
    } else if (const char* root = std::getenv("LAMBDA_TASK_ROOT"); root != nullptr && *root) {
        return root;
    } else {
        return ".";
    }
    auto slash = path.rfind('/');
    if (slash == 0) return "/";
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = package_directory(argc > 0 ? argv[0] : nullptr);
    if (dir.back() != '/') dir += '/';
    std::string loader = dir + "lib/ld.so";
    std::string library_path = dir + "lib";
    std::string function = dir + "bin/" MUSTER_FUNCTION_NAME;

    std::vector<char*> args;
    args.push_back(loader.data());
    std::string library_path_flag = "--library-path";
    args.push_back(library_path_flag.data());
    args.push_back(library_path.data());
    args.push_back(function.data());
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);

    ::execv(loader.c_str(), args.data());
    std::fprintf(stderr, "bootstrap: cannot start %s through %s: %s\n", function.c_str(),
                 loader.c_str(), std::strerror(errno));
    return 127;
}
