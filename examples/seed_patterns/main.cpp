#include <muster/muster.hpp>

#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
    if (argc != 2 || std::string_view(argv[1]) != "demo") {
        std::cerr << "usage: seed_patterns demo\n";
        return 2;
    }
    std::cout << R"({"results":[]})" << '\n';
    return 0;
}
