// A function of a shared library the deployed function depends on.
#pragma once

#include <string>

std::string greeting();
