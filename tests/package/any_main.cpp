// A consumer of the `any` component (find_package(gencache ... COMPONENTS any)): the store
// comes from a URL, and the program is linked with whatever stores the install has.
#include <cstdio>
#include <string>

#include <gencache/any_store.hpp>

int main() {
  gencache::any_cache cache(gencache::make_store("memory://?max_entries=1000"));
  const bool stored = cache.set({"project", {"report:user_id", 7}}, std::string("s"), "k").ok();
  const bool hit = cache.get<std::string>({"project", {"report:user_id", 7}}, "k") == "s";
  std::printf("any consumer: stored=%d hit=%d\n", stored, hit);
  return stored && hit ? 0 : 1;
}
