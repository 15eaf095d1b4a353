// Prelude of a remote store's test binary (see catch_runner.cpp): without its server's URL
// in the environment, every test is skipped with a message saying what to set, instead of
// passing without having run. ctest recognises the printed "SKIPPED: " marker
// (SKIP_REGULAR_EXPRESSION), not an exit code, which a failing run could also return. With
// GENCACHE_REQUIRE_SERVERS set (scripts/test.sh, CI), a missing URL is a failure instead.
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
    if (std::getenv("GENCACHE_REQUIRE_SERVERS") != nullptr) {
      fmt::print(
          "FAILED: {} is not set, and GENCACHE_REQUIRE_SERVERS says the servers must be "
          "there.\n",
          variable);
      return 1;
    }
    fmt::print(
        "SKIPPED: {} is not set. Run ./scripts/test.sh, which starts the servers, or set "
        "it (e.g. {}).\n",
        variable, GENCACHE_SERVER_URL_EXAMPLE);
    return 0;
  }
  return -1;
}
