// Catch2's implementation and the test binaries' main, compiled once per build and linked by
// every test binary: it is the slowest translation unit of the suite under the sanitizers,
// and Catch2 v2 declares Catch::Session only along with its implementation.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

/// A binary may define this to decide before Catch2 runs (remote_main.cpp skips the whole
/// binary without a server): a result of 0 or more is the exit status, -1 runs the tests.
extern "C" int gencache_test_prelude(int argc, char* argv[]) __attribute__((weak));

int main(int argc, char* argv[]) {
  if (gencache_test_prelude != nullptr) {
    if (const int status = gencache_test_prelude(argc, argv); status >= 0) return status;
  }
  // Catch2 v2 exits with the number of failed assertions, which can be any small number;
  // a failure is 1, so that no count is ever mistaken for another status.
  return Catch::Session().run(argc, argv) == 0 ? 0 : 1;
}
