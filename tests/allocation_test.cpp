// Proves that hits allocate nothing, with a counting global operator new. (A binary of its
// own: replacing operator new is program-wide.)
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
// Out-of-memory injection: while armed, the allocation that brings the count to zero throws.
thread_local std::size_t fail_countdown = 0;

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
  if (fail_countdown != 0 && --fail_countdown == 0) throw std::bad_alloc();
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

TEST_CASE("allocation: a set of a large value allocates one block, its entry",
          "[allocation][value]") {
  // The value lives in its entry's allocation after the key, whatever its size (before 0.2,
  // a value over 32 bytes took a heap copy of its own besides the entry).
  struct large {
    std::uint64_t words[25];
  };
  gencache::cache cache;
  large v{};
  for (std::uint64_t i = 0; i < 25; ++i) v.words[i] = i * 3;
  REQUIRE(cache.set({"g"}, v, 0).ok());  // the thread's counters block
  CHECK(allocations_of([&] { REQUIRE(cache.set({"g"}, v, 1).ok()); }) == 1);
  std::optional<large> hit;
  CHECK(allocations_of([&] { hit = cache.get<large>({"g"}, 1); }) == 0);
  REQUIRE(hit);
  CHECK(hit->words[24] == 72u);
}

TEST_CASE("allocation: a thread alternating between many stores allocates nothing",
          "[allocation][memory_store]") {
  // Store ids that were equal modulo 8 shared one per-thread slot: each switch between
  // them took a lock and allocated a statistics block (issue 25).
  std::vector<std::unique_ptr<gencache::memory_store>> stores;
  for (int i = 0; i < 9; ++i) stores.push_back(std::make_unique<gencache::memory_store>());
  const gencache::key_bytes bytes = [] {
    gencache::key_bytes b;
    gencache::encode_key_parts(b, "k");
    return b;
  }();
  const gencache::key_view key{{bytes.data(), bytes.size()},
                               gencache::hash_bytes({bytes.data(), bytes.size()})};
  for (auto& s : stores) REQUIRE(s->set(key, std::uint64_t{1}).ok());
  for (auto& s : stores) (void)s->get<std::uint64_t>(key);  // each store's first count
  std::uint64_t sum = 0;
  CHECK(allocations_of([&] {
          for (int round = 0; round < 1'000; ++round) {
            sum += *stores.front()->get<std::uint64_t>(key);
            sum += *stores.back()->get<std::uint64_t>(key);
          }
        }) == 0);
  CHECK(sum == 2'000);
}

TEST_CASE("allocation: running out of memory inside a set leaves the store consistent",
          "[allocation][memory_store]") {
  // An allocation that fails anywhere in a set (the entry, a table, the S3-FIFO ghost, a
  // batch of retired entries) either fails the set before it changed anything or is
  // absorbed; the store's queues, table and counts stay in step (issue 25).
  gencache::memory_store store({.max_entries = 64, .shards = 1});
  std::vector<gencache::key_bytes> keys;
  const auto key_of = [&](std::size_t i) {
    return gencache::key_view{{keys[i].data(), keys[i].size()},
                              gencache::hash_bytes({keys[i].data(), keys[i].size()})};
  };
  std::size_t failed = 0;
  for (std::size_t i = 0; i < 4'000; ++i) {
    keys.emplace_back();
    gencache::encode_key_parts(keys.back(), "key", i);
    fail_countdown = 1 + i % 3;  // the 1st, 2nd or 3rd allocation of this set fails
    try {
      (void)store.set(key_of(i), std::uint64_t{i});
    } catch (const std::bad_alloc&) {
      ++failed;
    }
    fail_countdown = 0;
    if (i % 7 == 0) (void)store.get<std::uint64_t>(key_of(i / 2));  // ghost hits come back
  }
  CHECK(failed > 0);
  const auto held = store.stats().entries;
  std::size_t erased = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) erased += store.erase(key_of(i)) ? 1 : 0;
  CHECK(erased == held);
  CHECK(store.stats().entries == 0);
  CHECK(store.stats().bytes == 0);
}
