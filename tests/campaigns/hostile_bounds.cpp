// Measures what hostile servers cost a client (docs/reliability.md): for each scripted
// misbehaviour (tests/support/fake_server.hpp), the slowest of a few calls and how much the
// process's peak resident memory grew. Not a test: it prints figures.
//
//   build/release/tests/hostile_bounds_campaign

#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "gencache/memcached_store.hpp"
#include "gencache/redis_store.hpp"
#include "support/fake_server.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t value_limit = std::size_t{1} << 20;

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void drip(test::wire& w, const std::string& bytes, std::chrono::milliseconds gap) {
  for (const char byte : bytes) {
    if (!w.send({&byte, 1})) return;
    std::this_thread::sleep_for(gap);
  }
}

/// Runs `calls` calls against a fresh server and backend each; prints the slowest call and
/// the growth of peak memory.
void measure(std::string_view store, std::string_view mode, const test::fake_server::session& run,
             const std::function<std::string(std::uint16_t)>& call, int calls = 3) {
  const long before = peak_rss_kib();
  std::chrono::nanoseconds slowest{};
  std::string outcome;
  for (int i = 0; i < calls; ++i) {
    const test::fake_server server(run);
    const auto start = clock_type::now();
    outcome = call(server.port());
    slowest = std::max(slowest, clock_type::now() - start);
  }
  fmt::print("| {} | {} | {:.0f} ms | {} MiB | {} |\n", store, mode,
             std::chrono::duration<double, std::milli>(slowest).count(),
             (peak_rss_kib() - before + 1023) / 1024, outcome);
}

std::string outcome_of(const gencache::status& s) {
  const std::string& m = s.message();
  return fmt::format("{}: {}", gencache::to_string(s.code()), m.substr(m.find(": ") + 2, 60));
}

std::string redis_get(std::uint16_t port) {
  const auto backend = gencache::make_redis_backend(
      fmt::format("redis://127.0.0.1:{}", port),
      {.connection = {.connect_timeout = 250ms, .command_timeout = 250ms},
       .max_value_size = value_limit});
  const auto got = backend->get("k");
  return got ? "answered" : outcome_of(got.error());
}

std::string memcached_get(std::uint16_t port) {
  const auto backend = gencache::make_memcached_backend(
      fmt::format("memcached://127.0.0.1:{}", port),
      {.connection = {.connect_timeout = 250ms, .command_timeout = 250ms},
       .max_value_size = value_limit});
  const auto got = backend->get("k");
  return got ? "answered" : outcome_of(got.error());
}

}  // namespace

int main() {
  fmt::print(
      "timeouts 250 ms, max_value_size 1 MiB; peak RSS grows only when a mode needs more "
      "than any before it\n\n");
  fmt::print("| store | server sends | slowest call | peak RSS growth | outcome |\n");
  fmt::print("|---|---|---:|---:|---|\n");
  measure("redis", "a 1 KB value, a byte every 2 ms (2 s)",
          test::redis_answering(
              [](test::wire& w) { drip(w, "$990\r\n" + std::string(990, 'v') + "\r\n", 2ms); }),
          redis_get);
  measure("redis", "`*2147483647` (an array of 2^31 elements)",
          test::redis_answering([](test::wire& w) { w.send("*2147483647\r\n"); }), redis_get);
  measure("redis", "`$2000000000` and 256 MiB of bytes", test::redis_answering([](test::wire& w) {
            if (w.send("$2000000000\r\n")) test::stream_filler(w);
          }),
          redis_get);
  measure("redis", "`*16000000` and 16 M `:1` elements", test::redis_answering([](test::wire& w) {
            std::string flood = "*16000000\r\n";
            for (int i = 0; i < 1 << 16; ++i) flood += ":1\r\n";
            for (int i = 0; i < 64 && w.send(flood); ++i) {
            }
          }),
          redis_get);
  measure(
      "redis", "INFO answered a byte every 2 ms, for ever",
      [](test::wire& w) {
        while (w.read_redis_command()) drip(w, std::string(100'000, '$'), 2ms);
      },
      redis_get);
  measure("memcached", "a 2 GB value header and 256 MiB of bytes",
          test::memcached_answering([](test::wire& w, const std::string& request) {
            if (w.send(test::memcached_response_header(request, 2'000'000'000))) {
              test::stream_filler(w);
            }
          }),
          memcached_get);
  measure("memcached", "a 1 KB value, a byte every 2 ms (2 s)",
          test::memcached_answering([](test::wire& w, const std::string& request) {
            drip(w, test::memcached_response_header(request, 1004) + std::string(1004, 'v'), 2ms);
          }),
          memcached_get, 1);
}
