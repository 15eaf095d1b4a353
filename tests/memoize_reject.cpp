// Each case must fail to compile with gencache's message (see tests/CMakeLists.txt).
#include <gencache/gencache.hpp>

#include <memory>

namespace {
struct args {
  int user_id;
};
struct other {
  int user_id;
};
int f(const args& a) { return a.user_id; }
int g(const args& a, const args& b) { return a.user_id + b.user_id; }
struct throws_when_destroyed {
  ~throws_when_destroyed() noexcept(false) {}
};
class fragment_keyed {  // not an aggregate, keyed by its key_fragment
 public:
  fragment_keyed(int first, int second) : a(first), b(second) {}
  int a;
  int b;
};
}  // namespace

template <>
struct gencache::key_fragment<fragment_keyed> {
  static void append(auto& out, const fragment_keyed& v) { out(v.a, v.b); }
};

int main() {
  gencache::cache cache;
#if defined(GENCACHE_REJECT_missing_field)
  gencache::memoized m(cache, &f, gencache::gen("x:user_id", &other::user_id));
#elif defined(GENCACHE_REJECT_ambiguous_field)
  gencache::memoized m(cache, &g, gencache::gen("x:user_id", &args::user_id));
#elif defined(GENCACHE_REJECT_void_result)
  gencache::memoized m(
      cache, [](int) {}, "g");
#elif defined(GENCACHE_REJECT_reference_result)
  static int stored = 0;
  gencache::memoized m(
      cache, [](int) -> const int& { return stored; }, "g");
#elif defined(GENCACHE_REJECT_move_only_result)
  gencache::memoized m(
      cache, [](int) { return std::unique_ptr<int>(); }, "g");
#elif defined(GENCACHE_REJECT_old_generation)  // built with -Werror=deprecated-declarations
  (void)cache.generation("project");
#elif defined(GENCACHE_REJECT_old_key)
  gencache::memoized m(cache, &f, "g");
  (void)m.key(args{1});
#elif defined(GENCACHE_REJECT_throwing_destructor)
  (void)cache.set({"g"}, throws_when_destroyed{}, 1);
#elif defined(GENCACHE_REJECT_plumbing)  // the front ends' plumbing is not the facade
  const gencache::generation_ref gens[] = {"g"};
  (void)cache.make_key(gencache::key_domain::direct, {}, gens, 1);
#elif defined(GENCACHE_REJECT_exclude_fragment)
  gencache::memoized m(
      cache, [](const fragment_keyed& k) { return k.a; }, "g",
      gencache::exclude(&fragment_keyed::b));
#endif
  return 0;
}
