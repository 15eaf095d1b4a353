// One of two files that each define a type named `payload` in an anonymous namespace, with
// different layouts (memory_hardening_test.cpp): the store must tell them apart.
#include <gencache/memory_store.hpp>

namespace {
struct payload {
  long a, b, c, d;
};
}  // namespace

namespace test::identity {
bool set_payload_a(gencache::memory_store& store, gencache::key_view key) {
  return store.set(key, payload{1, 2, 3, 4}).ok();
}
bool get_payload_a(gencache::memory_store& store, gencache::key_view key) {
  const auto got = store.get<payload>(key);
  return got && got->a == 1 && got->d == 4;
}
}  // namespace test::identity
