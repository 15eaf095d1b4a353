// The one user hook that keys, the value codec and the value weight fall back to:
// `gencache_fields(auto& self)`, found by argument-dependent lookup (detail/type_class.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/codec.hpp>
#include <gencache/gencache.hpp>

namespace hooktest {

// Private state; `note` is not part of the value.
class account {
 public:
  account() = default;
  account(int id, std::string region, std::string note = {})
      : id_(id), region_(std::move(region)), note_(std::move(note)) {}
  [[nodiscard]] int id() const { return id_; }
  [[nodiscard]] const std::string& region() const { return region_; }
  [[nodiscard]] const std::string& note() const { return note_; }
  [[nodiscard]] int lookups() const { return lookups_; }
  int lookup(int page) {
    ++lookups_;
    return id_ * 100 + page;
  }

 private:
  friend auto gencache_fields(gencache::maybe_const<account> auto& self) {
    return std::tie(self.id_, self.region_);
  }
  int id_ = 0;
  std::string region_;
  std::string note_;
  int lookups_ = 0;
};

// Trivially copyable, without padding: raw bytes would key it with `cookie`, the hook
// without.
struct ticket {
  std::int32_t id;
  std::int32_t cookie;
  friend auto gencache_fields(gencache::maybe_const<ticket> auto& t) { return std::tie(t.id); }
};

// Both a key_fragment (keys by id alone) and the hook (id and region): the fragment wins
// for keys.
class both {
 public:
  both(int id, std::string region) : id_(id), region_(std::move(region)) {}

 private:
  friend struct gencache::key_fragment<both>;
  friend auto gencache_fields(gencache::maybe_const<both> auto& self) {
    return std::tie(self.id_, self.region_);
  }
  int id_;
  std::string region_;
};

// A hook that ties const fields only: it keys and writes, but cannot read back.
struct read_only {
  int id = 0;
  friend auto gencache_fields(const gencache::maybe_const<read_only> auto& r) {
    return std::tie(r.id);
  }
};

template <class... Parts>
std::string key_of(const Parts&... parts) {
  gencache::key_bytes out;
  gencache::encode_key_parts(out, parts...);
  return {out.data(), out.size()};
}

// An aggregate whose hook leaves out a trace id; a generation takes `user`.
struct request {
  int user;
  int page;
  std::string trace_id;
  friend auto gencache_fields(gencache::maybe_const<request> auto& r) {
    return std::tie(r.user, r.page);
  }
};

// Not an aggregate: only the hook says what its fields are.
class query {
 public:
  query(int user_id, int page_number) : user(user_id), page(page_number) {}
  int user;
  int page;

 private:
  friend auto gencache_fields(gencache::maybe_const<query> auto& q) {
    return std::tie(q.user, q.page);
  }
};

}  // namespace hooktest

template <>
struct gencache::key_fragment<hooktest::both> {
  static void append(auto& out, const hooktest::both& b) { out(b.id_); }
};

TEST_CASE("fields hook: keys by the fields it names, under the type's name", "[key][hook]") {
  using hooktest::account;
  const auto key = [](const auto&... parts) { return hooktest::key_of(parts...); };
  CHECK(key(account(1, "eu", "a")) == key(account(1, "eu", "b")));  // note is not named
  CHECK(key(account(1, "eu")) != key(account(2, "eu")));
  CHECK(key(account(1, "eu")) != key(account(1, "us")));
  CHECK(key(account(1, "eu")) != key(std::tuple<int, std::string>(1, "eu")));
  CHECK(gencache::render_key_parts(account(7, "eu")) == R"((hooktest::account{7, "eu"}))");
  // A container of them stays a container: argument-dependent lookup sees the hidden
  // friend through the element type, and maybe_const keeps it from applying.
  using gencache::detail::class_of;
  using gencache::detail::type_class;
  static_assert(class_of<std::vector<account>> == type_class::range);
  static_assert(class_of<std::optional<account>> == type_class::optional);
  CHECK(gencache::render_key_parts(std::vector<account>{account(1, "eu")}) ==
        R"(([hooktest::account{1, "eu"}]))");
}

TEST_CASE("fields hook: a key_fragment comes first for keys", "[key][hook]") {
  using hooktest::both;
  CHECK(hooktest::key_of(both(1, "eu")) == hooktest::key_of(both(1, "us")));
  CHECK(hooktest::key_of(both(1, "eu")) != hooktest::key_of(both(2, "eu")));
}

TEST_CASE("fields hook: the codec writes and reads the fields it names", "[codec][hook]") {
  using hooktest::account;
  static_assert(gencache::detail::described_mutably<account>);
  static_assert(!gencache::detail::described_mutably<hooktest::read_only>);
  const account written(42, std::string(300, 'r'), "not stored");
  account read;
  const auto st = gencache::decode_value(gencache::encode_value(written), read);
  REQUIRE(st.ok());
  CHECK(read.id() == 42);
  CHECK(read.region() == written.region());
  CHECK(read.note().empty());
  // Its own fingerprint: an account's bytes do not decode as the tuple of its fields.
  std::tuple<int, std::string> other;
  CHECK(gencache::decode_value(gencache::encode_value(written), other).code() ==
        gencache::errc::type_mismatch);
}

TEST_CASE("fields hook: the weight counts what the named fields hold", "[values][hook]") {
  using gencache::detail::weigh;
  const hooktest::account small(1, "eu");
  const hooktest::account large(1, std::string(4000, 'x'));
  CHECK(weigh(large) >= sizeof(hooktest::account) + 4000);
  CHECK(weigh(large) - weigh(small) == 4000 - 2);
  // The note is not named, so its bytes are not counted.
  CHECK(weigh(hooktest::account(1, "eu", std::string(4000, 'n'))) == weigh(small));
}

TEST_CASE("fields hook: memoized keys use it for arguments and member functions' objects",
          "[memoize][hook]") {
  gencache::cache cache;
  int computes = 0;
  gencache::memoized by_ticket(
      cache,
      [&](const hooktest::ticket& t) {
        ++computes;
        return t.id * 2;
      },
      "tickets");
  CHECK(by_ticket(hooktest::ticket{5, 1}) == 10);
  CHECK(by_ticket(hooktest::ticket{5, 2}) == 10);  // cookie is not named: a hit
  CHECK(computes == 1);
  CHECK(by_ticket(hooktest::ticket{6, 1}) == 12);
  CHECK(computes == 2);

  gencache::memoized lookup(cache, &hooktest::account::lookup, "accounts");
  hooktest::account a(1, "eu", "x");
  hooktest::account same(1, "eu", "y");
  hooktest::account other(2, "eu");
  CHECK(lookup(a, 3) == 103);
  CHECK(lookup(same, 3) == 103);  // the same value: a hit
  CHECK(same.lookups() == 0);
  CHECK(lookup(other, 3) == 203);  // the object is keyed
  CHECK(other.lookups() == 1);
}

TEST_CASE("fields hook: fields a spec leaves out are left out of the hook's fields",
          "[memoize][hook]") {
  using hooktest::request;
  gencache::cache cache;
  int computes = 0;
  auto page_of = [&](const request& r) {
    ++computes;
    return r.user * 100 + r.page;
  };
  SECTION("a field that feeds a generation") {
    gencache::memoized m(cache, page_of, gencache::gen("u:user", &request::user));
    CHECK(m(request{1, 2, "a"}) == 102);
    CHECK(m(request{1, 2, "b"}) == 102);  // trace_id is not named by the hook
    CHECK(computes == 1);
    CHECK(m.describe(request{1, 2, "a"}).find("\"a\"") == std::string::npos);
    CHECK(m(request{1, 3, "a"}) == 103);
    CHECK(computes == 2);
  }
  SECTION("an excluded field") {
    gencache::memoized m(cache, page_of, "plain", gencache::exclude(&request::page));
    CHECK(m(request{1, 2, "a"}) == 102);
    CHECK(m(request{1, 3, "b"}) == 102);  // page excluded, trace_id not named
    CHECK(computes == 1);
    CHECK(m(request{2, 2, "a"}) == 202);
    CHECK(computes == 2);
  }
  SECTION("an excluded field of a class that is not an aggregate") {
    using hooktest::query;
    gencache::memoized m(
        cache,
        [&](const query& q) {
          ++computes;
          return q.user;
        },
        "plain", gencache::exclude(&query::page));
    CHECK(m(query(1, 1)) == 1);
    CHECK(m(query(1, 2)) == 1);
    CHECK(computes == 1);
    CHECK(m.describe(query(1, 2)) == m.describe(query(1, 9)));
  }
  SECTION("inside an optional") {
    gencache::memoized m(
        cache,
        [&](const std::optional<request>& r) {
          ++computes;
          return r ? r->page : -1;
        },
        gencache::gen("u:user", &request::user));
    CHECK(m(request{1, 2, "a"}) == 2);
    CHECK(m(request{1, 2, "b"}) == 2);
    CHECK(computes == 1);
  }
}
