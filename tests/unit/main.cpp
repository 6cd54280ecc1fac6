// main.cpp: entry point of the CppUTest unit tests run by `make check`.
// Prints each test (-v) so logs show what ran; CppUTest's leak detector stays on.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/TestRegistry.h>

#include <vector>

int main(int argc, char** argv) {
    std::vector<const char*> args(argv, argv + argc);
    if (argc == 1) args.push_back("-v");
    return CommandLineTestRunner::RunAllTests(int(args.size()), const_cast<char**>(args.data()));
}
