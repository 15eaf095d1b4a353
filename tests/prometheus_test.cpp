// The gencache::prometheus component: a real prometheus-cpp exposer on a loopback port,
// scraped over HTTP; every series present, its counts equal to stats().
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>
#include <gencache/prometheus.hpp>

#include "support/exposition.hpp"
#include "support/watchdog.hpp"

using namespace std::chrono_literals;

namespace {

/// GET /metrics from 127.0.0.1:port, the body (HTTP/1.0: the server closes when done).
/// Every socket call has a 10 s timeout, so a silent server fails the test, never hangs it.
std::string scrape(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  const timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect");
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    throw std::runtime_error("send");
  }
  std::string response;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("recv");
    }
    if (n == 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") == std::string::npos ||
      body == std::string::npos) {
    throw std::runtime_error("bad response: " + response.substr(0, 200));
  }
  return response.substr(body + 4);
}

int twice(int x) { return 2 * x; }

}  // namespace

TEST_CASE("prometheus: an exposer on a loopback port serves every series, equal to stats()",
          "[prometheus]") {
  gencache::cache cache(gencache::memory_store_options{.max_entries = 64, .shards = 1});
  gencache::memoized doubled(cache, &twice, "doubles");
  gencache::metrics_registry metrics;
  const auto cache_registration = metrics.add("main", cache);
  const auto doubled_registration = metrics.add("doubled", doubled);

  for (int i = 0; i < 80; ++i) (void)cache.set({}, i, "k", i);
  CHECK(cache.get<int>({}, "k", 79) == 79);
  cache.invalidate("g");
  CHECK(doubled(21) == 42);
  CHECK(doubled(21) == 42);

  // The application's own Registry beside gencache's collectable, on one exposer.
  prometheus::Exposer exposer{"127.0.0.1:0"};
  auto application = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("app_requests_total")
      .Help("requests")
      .Register(*application)
      .Add({})
      .Increment(3);
  exposer.RegisterCollectable(application);
  const auto collectable = gencache::make_prometheus_collectable(metrics);
  exposer.RegisterCollectable(collectable);
  REQUIRE(exposer.GetListeningPorts().size() == 1);
  const int port = exposer.GetListeningPorts()[0];

  const std::string body = test::within(60s, "scrape", [&] { return scrape(port); });
  INFO(body);
  const test::exposition served = test::parse_exposition(body, true);
  // Every series the text export writes is served, with the same value, but for the
  // histogram sum (a double, printed in another precision).
  const test::exposition expected = test::parse_exposition(metrics.to_prometheus_text());
  REQUIRE(expected.series.size() == 38);
  for (const auto& entry : expected.series) {
    const std::string& name = entry.first;
    INFO(name);
    REQUIRE(served.series.count(name) == 1);
    if (name.find("_sum{") == std::string::npos) CHECK(served.value(name) == expected.value(name));
  }
  CHECK(served.value("app_requests_total") == 3);

  const gencache::store_stats s = cache.stats();
  CHECK(served.value(R"(cache_gets_total{cache="main",result="hit"})") ==
        static_cast<double>(s.hits));
  CHECK(served.value(R"(cache_puts_total{cache="main"})") == static_cast<double>(s.sets));
  CHECK(served.value(R"(cache_evictions_total{cache="main",cause="size"})") ==
        static_cast<double>(s.evictions));
  CHECK(served.value(R"(cache_size{cache="main"})") == static_cast<double>(s.entries));
  CHECK(served.value(R"(gencache_invalidations_total{cache="main"})") == 1);
  CHECK(served.value(R"(cache_gets_total{cache="doubled",result="hit"})") == 1);
  CHECK(served.value(R"(cache_loads_total{cache="doubled",result="success"})") == 1);
  CHECK(served.value(R"(cache_load_duration_seconds_count{cache="doubled"})") == 1);
  CHECK(served.value(R"(cache_load_duration_seconds_bucket{cache="doubled",le="+Inf"})") == 1);
}

TEST_CASE("prometheus: a collectable outliving its registry collects nothing", "[prometheus]") {
  std::shared_ptr<gencache::prometheus_collectable> collectable;
  gencache::cache cache;
  {
    gencache::metrics_registry metrics;
    const auto registration = metrics.add("c", cache);
    collectable = gencache::make_prometheus_collectable(metrics);
    CHECK(collectable->Collect().size() == 7);  // a store's families
  }
  CHECK(collectable->Collect().empty());
}
