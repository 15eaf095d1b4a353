#include <cstdio>
#include <string>

#include <gencache/gencache.hpp>

int main() {
  gencache::cache cache;
  cache.set({"project", {"report:user_id", 7}}, std::string("report"), "summary");
  const bool hit = cache.get<std::string>({"project", {"report:user_id", 7}}, "summary") ==
                   std::string("report");
  cache.invalidate("project");
  const bool gone = !cache.get<std::string>({"project", {"report:user_id", 7}}, "summary");
  std::printf("consumer: hit=%d gone_after_invalidate=%d\n", hit, gone);
  return hit && gone ? 0 : 1;
}
