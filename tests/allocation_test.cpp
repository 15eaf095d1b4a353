// Proves that hits allocate nothing, with a counting global operator new. (A binary of its
// own: replacing operator new is program-wide.)
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;

template <class F>
std::size_t allocations_of(F&& f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations;
}

struct query {
  int page;
  int size;
};
}  // namespace

// GCC pairs these by name, not by replacement, and warns that free() does not match new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("allocation: a direct get hit of an inline value allocates nothing",
          "[allocation][cache]") {
  gencache::cache cache;
  REQUIRE(cache.set({"nav", {"nav_portal:user_id", 53}}, std::uint64_t{7}, "header", query{1, 20})
              .ok());
  std::optional<std::uint64_t> hit;
  const auto n = allocations_of([&] {
    hit = cache.get<std::uint64_t>({"nav", {"nav_portal:user_id", 53}}, "header", query{1, 20});
  });
  CHECK(hit == 7u);
  CHECK(n == 0);

  const auto project = cache.pin_generation("project");
  REQUIRE(cache.set({project}, std::uint64_t{8}, 1).ok());
  CHECK(allocations_of([&] { hit = cache.get<std::uint64_t>({project}, 1); }) == 0);
  CHECK(hit == 8u);

  // A miss allocates nothing either.
  CHECK(allocations_of([&] { hit = cache.get<std::uint64_t>({project}, 2); }) == 0);
  CHECK_FALSE(hit);
}

TEST_CASE("allocation: a shared_ptr<const T> hit shares, a T hit copies", "[allocation][value]") {
  gencache::cache cache;
  auto text = std::make_shared<const std::string>(1000, 'x');
  REQUIRE(cache.set({"g"}, text, "shared").ok());
  REQUIRE(cache.set({"g"}, *text, "copied").ok());

  std::optional<std::shared_ptr<const std::string>> shared;
  CHECK(allocations_of(
            [&] { shared = cache.get<std::shared_ptr<const std::string>>({"g"}, "shared"); }) == 0);
  CHECK(shared->get() == text.get());

  std::optional<std::string> copied;
  CHECK(allocations_of([&] { copied = cache.get<std::string>({"g"}, "copied"); }) == 1);
  CHECK(copied == *text);
}

TEST_CASE("allocation: a memoized hit allocates nothing", "[allocation][memoize]") {
  gencache::cache cache;
  gencache::memoized cached(
      cache, [](const query& q) { return std::uint64_t(q.page) * 2; }, "project",
      gencache::gen("nav_portal:user_id", &query::page));
  REQUIRE(cached(query{1, 20}) == 2u);  // the miss fills it
  std::uint64_t hit = 0;
  CHECK(allocations_of([&] { hit = cached(query{1, 20}); }) == 0);
  CHECK(hit == 2u);
  CHECK(cached.stats().hits == 1);
}

TEST_CASE("allocation: a memoized miss allocates only the store's entry", "[allocation][memoize]") {
  // Single flight keeps its flight on the leader's stack: no key copy, no shared state, no
  // map node. What remains is the store's one entry (the 8-byte value lives inside it).
  gencache::cache cache;
  gencache::memoized raw_keyed(
      cache, [](const query& q) { return std::uint64_t(q.page) * 2; }, "project",
      gencache::gen("nav_portal:user_id", &query::page));
  gencache::memoized canonical_keyed(
      cache, [](const std::string& s) { return std::uint64_t(s.size()); }, "project");
  // First use of the store by this thread (its counters block) and of user 7's counter.
  (void)raw_keyed(query{7, 1});
  (void)canonical_keyed("warm");
  std::uint64_t computed = 0;
  CHECK(allocations_of([&] { computed = raw_keyed(query{7, 20}); }) == 1);
  CHECK(computed == 14u);
  const std::string text = "abc";
  CHECK(allocations_of([&] { computed = canonical_keyed(text); }) == 1);
  CHECK(computed == 3u);
  CHECK(raw_keyed.stats().misses == 2);
  CHECK(canonical_keyed.stats().misses == 2);
}
