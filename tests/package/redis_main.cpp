// A consumer of the Redis component alone (find_package(gencache ... COMPONENTS redis)). It
// runs without a server: a store nobody answers makes every read a counted error, and the
// program goes on (docs/reliability.md).
#include <cstdio>
#include <string>

#include <gencache/redis_store.hpp>

int main() {
  gencache::remote_cache cache(gencache::make_redis_store("redis://127.0.0.1:1"));
  const bool missed = !cache.get<std::string>({"project", {"report:user_id", 7}}, "summary");
  const bool counted = cache.stats().errors > 0;
  std::printf("redis consumer: missed=%d errors_counted=%d\n", missed, counted);
  return missed && counted ? 0 : 1;
}
