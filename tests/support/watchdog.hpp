#pragma once
// A watchdog for tests that put user code where it could hang the store: runs `f` on its
// own thread and, if it has not returned within `limit`, reports the hang and ends the
// process (threads stuck in a deadlock cannot be reclaimed, so the test binary cannot go
// on). The limit is a hang detector, not a speed threshold: pick it 100x the expected time.
// Catch2 v2 assertions are not thread-safe: `f` returns what to check, and the caller checks.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <utility>

namespace test {

template <class F>
auto within(std::chrono::seconds limit, const char* what, F&& f) {
  auto done = std::async(std::launch::async, std::forward<F>(f));
  if (done.wait_for(limit) == std::future_status::timeout) {
    std::fprintf(stderr, "watchdog: '%s' did not finish within %lld s: a hang\n", what,
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(3);
  }
  return done.get();
}

}  // namespace test
