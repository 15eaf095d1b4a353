// Prelude of a remote store's test binary (see catch_runner.cpp): without its server's URL
// in the environment, every test is skipped (exit code 77, which ctest reports as
// "Skipped") with a message saying what to set, instead of passing without having run.
// Listing tests never needs a server.

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

extern "C" int gencache_test_prelude(int argc, char* argv[]) {
  constexpr const char* variable = GENCACHE_SERVER_URL_VARIABLE;
  bool listing = false;
  for (int i = 1; i < argc; ++i)
    listing = listing || std::string_view(argv[i]).starts_with("--list");
  const char* url = std::getenv(variable);
  if (!listing && (url == nullptr || *url == '\0')) {
    fmt::print(
        "SKIPPED: {} is not set. Run ./scripts/test.sh, which starts the servers, or set "
        "it (e.g. {}).\n",
        variable, GENCACHE_SERVER_URL_EXAMPLE);
    return 77;
  }
  return -1;
}
