#include "greeting.hpp"

std::string greeting() { return "hello from a shared library"; }
