#pragma once
/// \file
/// The memoizing wrapper (the seed's `@gen_cache.wrap`): a callable that caches a pure
/// function's results under keys derived from its arguments and generations.
///
///     struct nav_args { int user_id; int page; };
///     std::string render_nav(const nav_args& a);
///
///     gencache::memoized cached_nav(cache, &render_nav,
///                                   "nav",                                            // plain
///                                   gencache::gen("nav_portal:user_id", &nav_args::user_id),
///                                   gencache::memoize_options{.ttl = std::chrono::minutes(10)});
///     cached_nav({.user_id = 53, .page = 1});       // computes, then hits
///     cache.invalidate({"nav_portal:user_id", 53}); // user 53's pages only
///
/// What goes into the key (the seed's three "magics"):
/// 1. Value-based generations take their value from the call's arguments: from a field of a
///    parameter struct named by member pointer (`gen(spec, &T::field)`; the parameter of type
///    `T` or `std::optional<T>` is found by type, or named with `gencache::arg<I>`), or from a
///    positional argument (`gen(spec, gencache::arg<I>)`). A field no parameter has is a
///    compile-time error; an empty optional argument throws std::invalid_argument before the
///    function runs.
/// 2. Every argument not used by a value-based generation and not excluded is a key part
///    (see key.hpp for what can be one). `exclude(gencache::arg<I>)` and `exclude(&T::field)`
///    leave arguments and fields out.
/// 3. The key's scope is where the wrapper is constructed (file, line, column and enclosing
///    function, through std::source_location, no macro), plus the callable's type: construct
///    the wrapper next to the function, and moving or renaming it starts a fresh cache. The
///    file is named as the compiler saw it (an absolute path under CMake), so a build from
///    another directory starts a fresh cache too. A `memoize_options::name` replaces the
///    location and the callable's type with a stable name (two callables of one name and
///    one signature share entries); remote stores shared between programs or builds need
///    one, and so do wrappers made in a factory (same location).
///
/// How arguments are keyed: on an in-process store, when the type of every argument not
/// left out whole is an integer, char, bool, enum, or an aggregate of those without
/// padding (a unique object representation: equal values have equal bytes; a struct
/// counts with all its fields, excluded ones included), the key holds the arguments' bytes and a
/// call hashes them with the generation values once (`key_domain::memoized_raw`). Other
/// arguments (strings, floats, containers, optionals, custom fragments) and every remote
/// store use the canonical encoding of key.hpp, one hash per call. On the memory store, a
/// raw-keyed call whose plain generations are pinned, whose value-based ones take integers
/// and whose key arguments fit 64 bytes finds a hit without building its key at all
/// (docs/design.md, "Keys"; not through any_store). `describe(args...)`,
/// logged misses and remote names read the same either way. On both encodings the scope
/// also names the parameter types, the generations and exclusions and the fields they
/// leave out, so two wrappers that share a `name` but not these never share entries.
///
/// Member functions: call the wrapper with the object first. The object is part of the key
/// only if its type has a `key_fragment` specialization or the `gencache_fields` hook
/// (decided by type, not by name).
///
/// Misses run the function once per key even when many threads miss it together
/// (single flight, on by default): the others wait for its result, or its exception, which
/// reaches every waiter and is never cached. A miss allocates nothing beyond the store's
/// entry (the flight lives on the computing thread's stack). Results are returned by value; return
/// `std::shared_ptr<const T>` from heavy functions so that hits share instead of copying.
///
/// The vocabulary (`arg<I>`, `gen`, `exclude`, `memoize_options`, `memoize_stats`,
/// `memoize_toggle`) is in memoize_specs.hpp; the signature and parameter machinery in
/// detail/memoize_signature.hpp. This header holds the wrapper.
///
/// Thread-safety: all members may be called concurrently; the wrapped callable must be safe
/// to call concurrently (as a pure function is). The wrapper is not copyable or movable (calls
/// in flight refer to it: its statistics, its switch, its flights): to hold one as a class member,
/// or copy it, make it with `gencache::memoize(...)` (same arguments) into a
/// `gencache::memoized_function<R(P...)>`, at the end of this file.

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/pfr/core.hpp>
#include <boost/pfr/tuple_size.hpp>

#include "gencache/cache.hpp"
#include "gencache/detail/memoize_signature.hpp"
#include "gencache/detail/striped_counter.hpp"
#include "gencache/generation.hpp"
#include "gencache/key.hpp"
#include "gencache/memoize_specs.hpp"

namespace gencache {

namespace detail {

/// The type of the argument value that feeds value-based generation spec S (void for other
/// specs, and for an index past the parameters, which check_spec reports).
template <class S, class Params>
struct fed_value_type {
  using type = void;
};
template <std::size_t I, class... P>
struct fed_value_type<arg_gen_spec<I>, std::tuple<P...>> {
  using type =
      std::remove_cvref_t<std::tuple_element_t<(I < sizeof...(P) ? I : 0), std::tuple<P..., void>>>;
};
template <class T, class M, std::size_t I, class Params>
struct fed_value_type<field_gen_spec<T, M, I>, Params> {
  using type = M;
};
template <class V>
struct without_optional {
  using type = V;
};
template <class V>
struct without_optional<std::optional<V>> {
  using type = typename without_optional<V>::type;
};
/// Whether value-based generation S takes an integer (or an optional one): its id is then
/// compared and hashed from registers on the hit path.
template <class S, class Params>
inline constexpr bool fed_by_integer =
    key_integer<typename without_optional<typename fed_value_type<S, Params>::type>::type>;

/// A fixed buffer with binary_sink's `raw`, for a call's raw argument bytes on the hit path.
template <std::size_t Capacity>
struct raw_argument_buffer {
  void raw(const void* p, std::size_t n) noexcept {
    if (n == 0) return;
    std::memcpy(bytes + size, p, n);
    size += n;
  }
  alignas(8) char bytes[Capacity == 0 ? 1 : Capacity];
  std::size_t size = 0;
};

template <class Derived, class Signature>
class memo_calls;

// Free functions and function objects: the wrapper's members take the same parameters.
template <class Derived, class R, class... P>
class memo_calls<Derived, signature<R, void, P...>> {
 public:
  /// Calls through the cache.
  R operator()(P... args) const { return self().call(nullptr, std::forward<P>(args)...); }
  /// Erases the entry for exactly these arguments; true if there was one. Bumps no
  /// generation (the cache's `invalidate` does that).
  bool erase(P... args) const { return self().erase_for(nullptr, args...); }
  /// `erase`, under the seed's name (hscacheutils' wrapped callable has `invalidate`).
  bool invalidate(P... args) const { return self().erase_for(nullptr, args...); }
  /// Computes, stores, and returns the result, whatever is cached.
  R refresh(P... args) const { return self().refresh_for(nullptr, std::forward<P>(args)...); }
  /// The cached result, without computing or refreshing recency.
  [[nodiscard]] std::optional<R> peek(P... args) const { return self().peek_for(nullptr, args...); }
  /// The readable key of a call, for logs: `memo scores.v1(3) project@… scores:user_id=7@…`.
  [[nodiscard]] std::string describe(P... args) const {
    return self().describe_call(nullptr, args...);
  }
  /// Calls through the cache once per element of `calls`, in order: `result[i]` is what
  /// `(*this)(calls[i])` returns, with the same effects (a miss computes and stores, with
  /// single flight; the on/off switches are read per call). An element is the argument of
  /// a one-parameter function (anything that converts to its parameter, a `std::tuple`
  /// too), else a `std::tuple` of the arguments; it converts to the parameters as a call's
  /// arguments do. On the memory store's hit path (see the file comment), the lookups of up
  /// to 16 calls are started together (the generation counters the thread does not
  /// remember, then the index slots, then the entries prefetched for all before any is
  /// probed), so the cache misses of independent calls overlap (Caffeine's `getAll`, the seed's
  /// bulk helpers); there an element is read and converted twice if its call does not hit,
  /// or if an earlier call of its batch of 16 could not read a generation counter (so
  /// `calls` is a forward range). A counter that moves while a batch runs (bumped by one of
  /// its calls or by another thread, or evicted) is read again for the calls not yet made. An
  /// exception from one call propagates after the calls before it ran; their results are lost,
  /// their entries stay stored.
  template <std::ranges::forward_range Calls>
  std::vector<R> call_many(Calls&& calls) const {
    std::vector<R> out;
    if constexpr (std::ranges::sized_range<Calls>) out.reserve(std::ranges::size(calls));
    call_many(std::forward<Calls>(calls), std::back_inserter(out));
    return out;
  }
  /// `call_many` writing the results to `out` (which it returns, advanced): with an
  /// iterator into storage the caller reuses, a batch of hits allocates nothing (when each
  /// value-based generation's id, its spec's text and the value, fits 120 bytes).
  template <std::ranges::forward_range Calls, std::output_iterator<R> Out>
  Out call_many(Calls&& calls, Out out) const {
    self().call_batch(
        calls,
        [](const auto& element, auto&& use) {
          if constexpr (element_is_argument<decltype(element)>()) {
            return [&](P... p) { return use(std::as_const(p)...); }(element);
          } else {
            return std::apply([&](P... p) { return use(std::as_const(p)...); }, element);
          }
        },
        [&](R&& value) { *out++ = std::move(value); });
    return out;
  }
  /// The old name of `describe`: it returned text, unlike `cache.key`, which builds a key.
  [[deprecated(
      "gencache: memoized::key(args...) is now describe(args...)")]] [[nodiscard]] std::string
  key(P... args) const {
    return describe(args...);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  /// Whether a `call_many` element is the argument itself (not a tuple of the arguments).
  template <class E>
  static constexpr bool element_is_argument() {
    if constexpr (sizeof...(P) == 1) {
      return (std::is_convertible_v<E, P> && ...) ||
             !is_specialization_of<std::remove_cvref_t<E>, std::tuple>;
    } else {
      return false;
    }
  }
};

// Member functions: the object comes first.
template <class Derived, class R, class C, class... P>
class memo_calls<Derived, signature<R, C, P...>> {
 public:
  R operator()(C& object, P... args) const {
    return self().call(&object, std::forward<P>(args)...);
  }
  bool erase(C& object, P... args) const { return self().erase_for(&object, args...); }
  bool invalidate(C& object, P... args) const { return self().erase_for(&object, args...); }
  R refresh(C& object, P... args) const {
    return self().refresh_for(&object, std::forward<P>(args)...);
  }
  [[nodiscard]] std::optional<R> peek(C& object, P... args) const {
    return self().peek_for(&object, args...);
  }
  [[nodiscard]] std::string describe(C& object, P... args) const {
    return self().describe_call(&object, args...);
  }
  [[deprecated(
      "gencache: memoized::key(object, args...) is now describe(object, "
      "args...)")]] [[nodiscard]] std::string
  key(C& object, P... args) const {
    return describe(object, args...);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace detail

/// A memoized function. See the file comment; construct it with the cache, the callable,
/// then generations, exclusions and options in any order:
///
///     gencache::memoized cached(cache, &foobar, "project_name",
///                               gencache::gen("foo_per_user_id:user_id", gencache::arg<0>));
template <class Store, class F, class... Specs>
class memoized : public detail::memo_calls<memoized<Store, F, Specs...>,
                                           typename detail::signature_of<F>::type> {
  using signature = typename detail::signature_of<F>::type;
  using object_type = typename signature::object;
  using params = typename signature::params;
  friend class detail::memo_calls<memoized, signature>;

  static constexpr std::size_t generation_count =
      (std::size_t{0} + ... + (detail::is_gen<Specs> ? 1 : 0));
  static constexpr std::size_t options_count =
      (std::size_t{0} + ... + (std::is_same_v<Specs, memoize_options> ? 1 : 0));

 public:
  using result_type = typename signature::result;

  static_assert((detail::is_known_spec<Specs> && ...),
                "gencache: memoized takes generations (\"name\", gencache::gen(...)), "
                "gencache::exclude(...) and one gencache::memoize_options after the callable");
  static_assert(options_count <= 1, "gencache: give memoize_options once");
  static_assert(!std::is_void_v<result_type>,
                "gencache: a function returning void has nothing to cache");
  static_assert(!std::is_reference_v<result_type>,
                "gencache: memoized functions return by value (return a shared_ptr<const T> to "
                "share heavy results)");
  static_assert(std::is_copy_constructible_v<result_type>,
                "gencache: a memoized result must be copyable");

  /// Throws std::invalid_argument for malformed specs, a plain spec given to a value-based
  /// slot or the reverse, or a ttl that is not positive.
  memoized(basic_cache<Store> over, F f, Specs... specs,
           std::source_location where = std::source_location::current())
      : cache_(std::move(over)), f_(std::move(f)), specs_(std::move(specs)...) {
    std::apply([&](const auto&... s) { (take_options(s), ...); }, specs_);
    detail::check_ttl(options_.ttl);
    if (options_.name.empty()) {
      scope_ = fmt::format("{}:{}:{}:{}|{}", where.file_name(), where.line(), where.column(),
                           where.function_name(), detail::type_name<F>());
      scope_text_ = fmt::format("{}:{}", detail::file_basename(where.file_name()), where.line());
    } else {
      scope_ = "name:" + options_.name;
      scope_text_ = options_.name;
    }
    // Keys carry a 16-byte fingerprint of the scope (two independent 64-bit hashes), not
    // the scope itself: a full path would push every key past the inline buffer. On every
    // encoding the fingerprint also covers the parameter types, the specs and the fields
    // they leave out: a key holds the arguments kept, not which ones were kept, so two
    // wrappers of one name that leave out different arguments or fields (or take other
    // parameter types, for raw keys) must never share a scope (G5).
    const std::string identity = scope_ + (use_raw_keys() ? "|raw|" : "|canonical|") + layout();
    const std::uint64_t fingerprint[2] = {detail::fnv1a(identity), hash_bytes(identity)};
    const std::string scope_id(reinterpret_cast<const char*>(fingerprint), sizeof fingerprint);
    head_ = cache_key(use_raw_keys() ? key_domain::memoized_raw : key_domain::memoized, scope_id,
                      generation_count);
    if (!options_.logger) {
      options_.logger = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
    }
    enabled_.store(!(options_.ignore_locally && detail::environment_is_local()));
    prepare_generations();
    (check_spec<Specs>(), ...);
    head_hash_ = hash_bytes(head_.bytes());
    field_hits_ = decide_field_hits();
  }

  memoized(const memoized&) = delete;
  memoized& operator=(const memoized&) = delete;

  /// Turns caching on or off at run time for this wrapper. Off (or with its shared
  /// `memoize_options::toggle` off), calls run the function and touch no entry;
  /// invalidate, refresh (which computes and stores), peek and describe still work.
  void enable(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }
  [[nodiscard]] bool enabled() const noexcept {
    return enabled_.load(std::memory_order_relaxed) &&
           (!options_.toggle || options_.toggle->enabled());
  }

  [[nodiscard]] memoize_stats stats() const noexcept {
    return {hits_.load(),  misses_.load(), computes_.load(),
            waits_.load(), errors_.load(), exceptions_.load()};
  }
  /// The identity of this wrapper in keys (location or name).
  [[nodiscard]] const std::string& scope() const noexcept { return scope_; }
  [[nodiscard]] basic_cache<Store>& cache() noexcept { return cache_; }

 private:
  /// An integer-valued id whose spec encodes in this many bytes or fewer is built by
  /// copying a fixed block (the slot's `id_template`) and writing the value into it: two
  /// fixed-size copies, where an id built byte by byte cost a store-forwarding stall.
  static constexpr std::size_t id_block = 64;
  // The bytes of an integer value in an id (its tag and 8 bytes), as integer_generation_id
  // writes them after the template's prefix.
  static constexpr std::size_t integer_value_bytes =
      sizeof(detail::integer_generation_bytes{}.bytes);

  /// Storage for the ids of a call's value-based generations (plain ones point into slots).
  struct generation_id_storage {
    alignas(16) char block[id_block];
    key_bytes bytes;  // ids that do not fit the block
  };
  using generation_ids = std::array<generation_id_storage, generation_count>;

  struct generation_slot {
    std::string spec;
    key_bytes id_prefix;          // encoded spec; a value-based id appends the encoded value
    std::uint64_t spec_hash = 0;  // hash of id_prefix: a plain generation's id hash, and the
                                  // seed of a value-based one's (detail::generation_id_hash)
    std::optional<generation_handle> handle;
    alignas(16) char id_template[id_block] = {};  // id_prefix, then room for an integer
  };

  // Compile-time checks that each spec names a parameter the callable has.
  template <class S>
  static constexpr void check_spec() {
    if constexpr (detail::is_field_spec<S, detail::field_gen_spec> ||
                  detail::is_field_spec<S, detail::excluded_field>) {
      using traits = detail::field_spec_traits<S>;
      [[maybe_unused]] constexpr std::size_t i = []<std::size_t... J>(std::index_sequence<J...>) {
        return detail::parameter_holding<typename traits::type, traits::index,
                                         std::tuple_element_t<J, params>...>();
      }
      (std::make_index_sequence<std::tuple_size_v<params>>{});
    } else if constexpr (detail::is_arg_gen<S> || detail::is_excluded_arg<S>) {
      static_assert(index_of<S>() < std::tuple_size_v<params>,
                    "gencache: gencache::arg<I> is past the last parameter");
    }
  }
  template <class S>
  static constexpr std::size_t index_of() {
    return []<std::size_t I, template <std::size_t> class Spec>(std::type_identity<Spec<I>>) {
      return I;
    }(std::type_identity<S>{});
  }

  template <class S>
  void take_options(const S& s) {
    if constexpr (std::is_same_v<S, memoize_options>) options_ = s;
  }

  void prepare_generations() {
    std::size_t g = 0;
    std::apply([&](const auto&... s) { (prepare_generation(s, g), ...); }, specs_);
  }
  template <class S>
  void prepare_generation(const S& s, std::size_t& g) {
    if constexpr (detail::is_gen<S>) {
      generation_slot& slot = generations_[g++];
      if constexpr (detail::is_plain_gen<S>) {
        if constexpr (std::is_same_v<S, detail::plain_gen_spec>) {
          slot.spec = s.spec;
        } else {
          slot.spec = std::string(std::string_view(s));
        }
        if (!detail::parse_generation_spec(slot.spec).empty()) {  // also checks the spec
          throw std::invalid_argument(
              "gencache: generation '" + slot.spec +
              "' is value-based: name the argument that gives its value, gen(\"" + slot.spec +
              "\", gencache::arg<I>) or gen(\"" + slot.spec + "\", &T::field)");
        }
        slot.handle = cache_.try_pin_generation(slot.spec);
      } else {
        slot.spec = s.spec;
        if (detail::parse_generation_spec(slot.spec).empty()) {
          throw std::invalid_argument("gencache: generation '" + slot.spec +
                                      "' takes its value from the arguments, so it must name a "
                                      "parameter: '" +
                                      slot.spec + ":user_id'");
        }
      }
      encode_key_parts(slot.id_prefix, std::string_view(slot.spec));
      slot.spec_hash = hash_bytes({slot.id_prefix.data(), slot.id_prefix.size()});
      if (slot.id_prefix.size() + integer_value_bytes <= id_block) {
        std::memcpy(slot.id_template, slot.id_prefix.data(), slot.id_prefix.size());
      }
    }
  }

  // ---- generation values of a call ------------------------------------------------------

  template <class T, std::size_t Index, class Args>
  static const T& holder(const Args& args, std::string_view spec) {
    constexpr std::size_t i = []<std::size_t... J>(std::index_sequence<J...>) {
      return detail::parameter_holding<T, Index, std::tuple_element_t<J, params>...>();
    }
    (std::make_index_sequence<std::tuple_size_v<params>>{});
    const auto& argument = std::get<i>(args);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(argument)>, T>) {
      return argument;
    } else {
      if (!argument) {
        throw std::invalid_argument(fmt::format(
            "gencache: generation '{}' takes its value from argument {}, an empty optional", spec,
            i));
      }
      return *argument;
    }
  }

  /// The argument value that feeds value-based generation spec `s` in a call.
  template <class S, class Args>
  static const auto& fed_value(const S& s, const Args& args) {
    if constexpr (detail::is_arg_gen<S>) {
      return std::get<S::index>(args);
    } else {
      return field_value(s, args);
    }
  }
  /// The id of a value-based generation fed an integer (`encoded`, whose id hashes to
  /// `hash`), built into `storage`.
  key_view integer_generation_id(generation_id_storage& storage, const generation_slot& slot,
                                 const detail::integer_generation_bytes& encoded,
                                 std::uint64_t hash) const {
    const std::size_t spec_size = slot.id_prefix.size();
    if (spec_size + integer_value_bytes <= id_block) [[likely]] {
      std::memcpy(storage.block, slot.id_template, id_block);
      std::memcpy(storage.block + spec_size, encoded.bytes, sizeof encoded.bytes);
      return {{storage.block, spec_size + sizeof encoded.bytes}, hash};
    }
    key_bytes& id = storage.bytes;
    id = slot.id_prefix;
    id.insert(id.end(), encoded.bytes, encoded.bytes + sizeof encoded.bytes);
    return {{id.data(), id.size()}, hash};
  }
  /// The id of value-based generation `s` in a call, built into `id` (an empty optional
  /// throws std::invalid_argument): the spec's bytes and hash come from the slot, so only
  /// the value is encoded and hashed.
  template <class S, class Args>
  key_view value_generation_id(generation_id_storage& storage, const generation_slot& slot,
                               const S& s, const Args& args) const {
    const std::size_t spec_size = slot.id_prefix.size();
    const auto& value = detail::engaged_generation_value(fed_value(s, args), slot.spec);
    using V = std::remove_cvref_t<decltype(value)>;
    if constexpr (detail::key_integer<V>) {
      const auto encoded = detail::encode_integer_generation_value(value);
      return integer_generation_id(
          storage, slot, encoded,
          detail::integer_generation_id_hash(slot.spec_hash, encoded.tag, encoded.little));
    } else {
      key_bytes& id = storage.bytes;
      id = slot.id_prefix;
      detail::encode_generation_value(id, value);
      return {{id.data(), id.size()},
              detail::generation_id_hash(slot.spec_hash,
                                         {id.data() + spec_size, id.size() - spec_size})};
    }
  }

  /// Adds generation spec `s` (if it is one) to `request`; value-based ids are built in `ids`.
  template <class S, class Args>
  void add_generation(key_request& request, const S& s, std::size_t& g, const Args& args,
                      generation_ids& ids) const {
    if constexpr (detail::is_gen<S>) {
      const std::size_t i = g++;
      const generation_slot& slot = generations_[i];
      if constexpr (detail::is_plain_gen<S>) {
        request.add_generation({{slot.id_prefix.data(), slot.id_prefix.size()}, slot.spec_hash},
                               slot.handle ? &slot.handle->counter() : nullptr);
      } else {
        request.add_generation(value_generation_id(ids[i], slot, s, args));
      }
    }
  }
  template <class T, class M, std::size_t I, class Args>
  static const M& field_value(const detail::field_gen_spec<T, M, I>& s, const Args& args) {
    return holder<T, I>(args, s.spec).*s.field;
  }

  // ---- key parts of a call --------------------------------------------------------------

  template <std::size_t I>
  static constexpr bool argument_left_out() {
    return ((std::is_same_v<Specs, detail::arg_gen_spec<I>> ||
             std::is_same_v<Specs, detail::excluded_arg<I>>) ||
            ...);
  }
  template <class T, std::size_t I>
  static constexpr std::size_t mask_count() {
    return (std::size_t{0} + ... + (detail::masks_fields<Specs, T, I> ? 1 : 0));
  }

  // ---- raw keys: arguments keyed by their object representation ------------------------

  /// Whether argument I, of type T, is keyed by its bytes: left out, or raw-representable
  /// (masked aggregates keep whole raw fields).
  template <std::size_t I>
  static constexpr bool argument_is_raw() {
    using T = std::remove_cvref_t<std::tuple_element_t<I, params>>;
    return argument_left_out<I>() || detail::raw_key_part<T>;
  }
  /// Raw keys for a local store when every argument (and the object, if keyed) is raw:
  /// then a call hashes the arguments' bytes with the generation values once, with no
  /// canonical encoding. Remote stores keep canonical keys: they name entries readably.
  /// A store chosen at run time (any_store) says at construction whether it is local.
  static constexpr bool raw_eligible = [] {
    bool object_keyed = false;
    if constexpr (!std::is_void_v<object_type>) {
      object_keyed = detail::keyed_object<std::remove_const_t<object_type>>;
    }
    return !object_keyed&&[]<std::size_t... I>(std::index_sequence<I...>) {
      return (argument_is_raw<I>() && ...);
    }
    (std::make_index_sequence<std::tuple_size_v<params>>{});
  }();
  bool use_raw_keys() const noexcept {
    if constexpr (!raw_eligible) {
      return false;
    } else {
      return store_traits<Store>::resolves_locally(cache_.store());
    }
  }

  // ---- the hit path: no key bytes ----------------------------------------------------------
  //
  // On a store that matches fields (the memory store), a raw-keyed call whose generations
  // are plain (pinned) or fed by integers looks its entry up without building the key: the
  // generation values come from the handles' loads and from the thread's remembered
  // counters (compared field by field), the key's hash from those values and the
  // arguments' bytes (`detail::raw_key_hash_*`, the hash `cache_key::finish` gives the same
  // key's bytes), and the entry is matched by comparing its stored key with the head, each
  // generation and the arguments in place (a counter the thread does not remember is read
  // from the store with its id built). Only a hit is served there; anything else (a miss,
  // an expired entry, another type) takes the ordinary path, which builds the key and
  // counts.

  /// Upper bound of a call's raw argument bytes.
  static constexpr std::size_t raw_arguments_bound = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (std::size_t{0} + ... +
              (argument_left_out<I>()
                   ? 0
                   : sizeof(std::remove_cvref_t<std::tuple_element_t<I, params>>)));
    }
    (std::make_index_sequence<std::tuple_size_v<params>>{});
  }();
  /// Head bytes of a memoized key whose generation count fits one byte: domain, string tag,
  /// scope size, the 16-byte scope fingerprint, generation count.
  static constexpr std::size_t short_head_size = 20;
  static constexpr bool field_hits_possible = [] {
    if constexpr (!raw_eligible || !store_traits<Store>::matches_fields) {
      return false;
    } else {
      return generation_count < 0x80 && raw_arguments_bound <= 64 &&
             ((!detail::is_gen<Specs> || detail::is_plain_gen<Specs> ||
               detail::fed_by_integer<Specs, params>)&&...);
    }
  }();
  using raw_arguments = detail::raw_argument_buffer<raw_arguments_bound>;

  /// Calls `f(spec, index, slot)` for each generation spec, in order.
  template <class Visit>
  void for_each_generation(Visit&& f) const {
    std::size_t g = 0;
    std::apply(
        [&](const auto&... s) {
          (
              [&] {
                if constexpr (detail::is_gen<std::remove_cvref_t<decltype(s)>>) {
                  const std::size_t i = g++;
                  f(s, i, generations_[i]);
                }
              }(),
              ...);
        },
        specs_);
  }

  /// Whether this wrapper serves hits by field matching (decided at construction: raw keys,
  /// every plain generation pinned, the head of the short form).
  bool decide_field_hits() const {
    if constexpr (!field_hits_possible) {
      return false;
    } else {
      if (!use_raw_keys() || head_.bytes().size() != short_head_size) return false;
      bool pinned = true;
      for_each_generation([&](const auto& s, std::size_t, const generation_slot& slot) {
        if constexpr (detail::is_plain_gen<std::remove_cvref_t<decltype(s)>>) {
          pinned = pinned && slot.handle;
        }
      });
      return pinned;
    }
  }

  /// What the hit path knows of a call's key without building it.
  struct field_key {
    std::uint64_t identities[generation_count + 1];
    std::uint64_t values[generation_count + 1];
    detail::integer_generation_bytes encodings[generation_count + 1];  // value-based ones'
    raw_arguments arguments;
    std::uint64_t hash;
  };
  /// Generation `s` (number `i`) of a call into `k`: its identity and current value, from
  /// registers where the thread remembers the counter. With `deferred` (a batch), a counter
  /// the thread does not remember is not read: its bit is set there
  /// (`read_deferred_generations` reads it).
  template <class S, class Args>
  void generation_field(const S& s, std::size_t i, const generation_slot& slot, const Args& args,
                        field_key& k, std::uint64_t* deferred) const {
    if constexpr (detail::is_plain_gen<S>) {
      k.identities[i] = slot.spec_hash;
      k.values[i] = slot.handle->counter().load(std::memory_order_acquire);
    } else {
      const auto& value = detail::engaged_generation_value(fed_value(s, args), slot.spec);
      const auto encoded = detail::encode_integer_generation_value(value);
      k.identities[i] =
          detail::integer_generation_id_hash(slot.spec_hash, encoded.tag, encoded.little);
      k.encodings[i] = encoded;
      if (deferred != nullptr && i < 64) {
        if (const auto remembered = remembered_integer_generation(slot, encoded, k.identities[i]))
            [[likely]] {
          k.values[i] = *remembered;
        } else {
          *deferred |= std::uint64_t{1} << i;
        }
      } else {
        k.values[i] = current_integer_generation(slot, encoded, k.identities[i]);
      }
    }
  }
  /// The value of a value-based generation fed an integer, if the thread remembers it.
  std::optional<std::uint64_t> remembered_integer_generation(
      const generation_slot& slot, const detail::integer_generation_bytes& encoded,
      std::uint64_t hash) const noexcept {
    const std::size_t spec_size = slot.id_prefix.size();
    return cache_.store().remembered_generation(
        hash, spec_size + sizeof encoded.bytes, [&](std::string_view id) {
          std::uint64_t little = 0;
          std::memcpy(&little, id.data() + spec_size + 1, sizeof little);
          return id[spec_size] == encoded.tag && little == encoded.little &&
                 id.starts_with(std::string_view(slot.id_prefix.data(), spec_size));
        });
  }
  /// Its value read from the store (created if absent).
  std::uint64_t read_integer_generation(const generation_slot& slot,
                                        const detail::integer_generation_bytes& encoded,
                                        std::uint64_t hash) const {
    generation_id_storage storage;
    return cache_.store().read_generation(integer_generation_id(storage, slot, encoded, hash));
  }
  /// Its value now: remembered by the thread, else read from the store.
  std::uint64_t current_integer_generation(const generation_slot& slot,
                                           const detail::integer_generation_bytes& encoded,
                                           std::uint64_t hash) const {
    const auto remembered = remembered_integer_generation(slot, encoded, hash);
    return remembered ? *remembered : read_integer_generation(slot, encoded, hash);
  }
  /// Fills `k` for a call. With `deferred` (a batch), counters the thread does not remember
  /// are left unread (see `generation_field`) and the hash is not computed: the batch reads
  /// them together, then calls `hash_field_key`.
  template <class Args>
  void make_field_key(field_key& k, const Args& args, std::uint64_t* deferred = nullptr) const {
    for_each_generation([&](const auto& s, std::size_t i, const generation_slot& slot) {
      generation_field(s, i, slot, args, k, deferred);
    });
    k.arguments.size = 0;  // a batch reuses its keys
    append_raw_arguments(k.arguments, args);
    if (deferred == nullptr) hash_field_key(k);
  }
  /// Reads the counters a batch's `make_field_key` left unread (`deferred`'s bits).
  void read_deferred_generations(std::uint64_t deferred, field_key& k) const {
    if constexpr (generation_count > 0) {  // (no slot to index: GCC's -Warray-bounds)
      for (; deferred != 0; deferred &= deferred - 1) {
        const auto i = static_cast<std::size_t>(std::countr_zero(deferred));
        k.values[i] = read_integer_generation(generations_[i], k.encodings[i], k.identities[i]);
      }
    }
  }
  /// Reads every generation value of `k` again, as a single call would now, and hashes it:
  /// for a batch whose counters moved after it read them.
  void refresh_field_key(field_key& k) const {
    for_each_generation([&](const auto& s, std::size_t i, const generation_slot& slot) {
      if constexpr (detail::is_plain_gen<std::remove_cvref_t<decltype(s)>>) {
        k.values[i] = slot.handle->counter().load(std::memory_order_acquire);
      } else {
        k.values[i] = current_integer_generation(slot, k.encodings[i], k.identities[i]);
      }
    });
    hash_field_key(k);
  }

  void hash_field_key(field_key& k) const {
    std::uint64_t hash = head_hash_;
    for (std::size_t i = 0; i < generation_count; ++i) {
      hash = detail::raw_key_hash_generation(hash, k.identities[i], k.values[i]);
    }
    k.hash = detail::raw_key_hash_parts(hash, k.arguments.bytes, k.arguments.size);
  }
  /// The entry of `k`: the value on a hit (counted by the store), else nullopt, counting
  /// nothing.
  std::optional<result_type> find_field_key(const field_key& k) const {
    const char* head = head_.bytes().data();
    return cache_.store().template get_hit<result_type>(k.hash, [&](std::string_view key) {
      constexpr std::size_t stride = cache_key::generation_stride;
      if (key.size() != short_head_size + generation_count * stride + k.arguments.size ||
          std::memcmp(key.data(), head, short_head_size) != 0) {
        return false;
      }
      for (std::size_t i = 0; i < generation_count; ++i) {
        std::uint64_t stored[2];
        std::memcpy(stored, key.data() + short_head_size + i * stride, sizeof stored);
        if (boost::endian::little_to_native(stored[0]) != k.identities[i] ||
            boost::endian::little_to_native(stored[1]) != k.values[i]) {
          return false;
        }
      }
      return std::memcmp(key.data() + short_head_size + generation_count * stride,
                         k.arguments.bytes, k.arguments.size) == 0;
    });
  }
  template <class Args>
  std::optional<result_type> field_hit(const Args& args) const {
    field_key k;
    make_field_key(k, args);
    return find_field_key(k);
  }

  /// Calls in batches (memo_calls::call_many). On the hit path the memory accesses of up to
  /// `batch_size` independent calls overlap, in passes over the batch, each touching what
  /// the previous one prefetched: (1) each call's generation fields, from registers and the
  /// thread's remembered counters; (2) the counters it does not remember: their index slots
  /// prefetched, then their nodes, then read; (3) the keys hashed and their index slots
  /// prefetched; (4) the entries prefetched; (5) each entry probed. A call that does not hit
  /// there is made as a single call, in order.
  static constexpr std::size_t batch_size = 16;
  template <class Calls, class Apply, class Emit>
  void call_batch(Calls& calls, Apply&& apply, Emit&& emit) const {
    auto single = [&](const auto& c) {
      emit(apply(c, [&](const auto&... a) { return call(nullptr, a...); }));
    };
    if constexpr (field_hits_possible) {
      if (field_hits_ && enabled()) {
        using iterator = std::ranges::iterator_t<Calls>;
        field_key keys[batch_size];
        std::uint64_t deferred[batch_size];
        iterator elements[batch_size];
        auto it = std::ranges::begin(calls);
        const auto end = std::ranges::end(calls);
        using pass_kind = typename Store::prefetch_pass;
        std::uint64_t hashes[batch_size];
        auto prefetch = [&](std::size_t count, pass_kind kind) {
          cache_.store().prefetch(std::span<const std::uint64_t>(hashes, count), kind);
        };
        while (it != end) {
          std::size_t n = 0;
          for (; it != end && n < batch_size; ++it, ++n) elements[n] = it;
          // A call whose key cannot be built (an empty optional generation, a counter that
          // cannot be created) ends the batch there: the calls before it run first, then its
          // single call throws.
          bool failed = false;
          const auto end_batch_at = [&](std::size_t j) {
            it = elements[j];
            n = j;
            failed = true;
          };
          std::uint64_t changes = cache_.store().generation_changes();  // before any is read
          std::uint64_t any_deferred = 0;
          for (std::size_t j = 0; j < n; ++j) {
            try {
              deferred[j] = 0;
              apply(*elements[j], [&](const auto&... a) {
                make_field_key(keys[j], std::forward_as_tuple(a...), &deferred[j]);
                return 0;
              });
              any_deferred |= deferred[j];
            } catch (...) {
              end_batch_at(j);
            }
          }
          if (any_deferred != 0) {
            // The counters the thread does not remember: slots, then nodes, then read.
            for (const pass_kind kind : {pass_kind::generation_slots, pass_kind::generations}) {
              std::size_t count = 0;
              for (std::size_t j = 0; j < n; ++j) {
                for (std::uint64_t bits = deferred[j]; bits != 0; bits &= bits - 1) {
                  if (count == batch_size) {
                    prefetch(count, kind);
                    count = 0;
                  }
                  hashes[count++] = keys[j].identities[std::countr_zero(bits)];
                }
              }
              prefetch(count, kind);
            }
            for (std::size_t j = 0; j < n; ++j) {
              try {
                read_deferred_generations(deferred[j], keys[j]);
              } catch (...) {
                end_batch_at(j);
              }
            }
          }
          for (std::size_t j = 0; j < n; ++j) {
            hash_field_key(keys[j]);
            hashes[j] = keys[j].hash;
          }
          prefetch(n, pass_kind::entry_slots);
          prefetch(n, pass_kind::entries);
          for (std::size_t j = 0; j < n; ++j) {
            // A counter bumped or evicted since the batch read them (by a call before this
            // one, by reading a counter in pass 2, by another thread): the calls left read
            // theirs again, as single calls made now would.
            if (const std::uint64_t now = cache_.store().generation_changes(); now != changes) {
              changes = now;
              for (std::size_t m = j; m < n; ++m) refresh_field_key(keys[m]);
            }
            std::optional<result_type> hit;
            if (enabled()) hit = find_field_key(keys[j]);  // a call may switch it off
            if (hit) {
              hits_.increment();
              emit(std::move(*hit));
            } else {
              single(*elements[j]);
            }
          }
          if (failed) single(*it++);
        }
        return;
      }
    }
    for (const auto& c : calls) single(c);
  }

  /// The parameter types, the specs' types and the fields they name (member pointers are
  /// offsets), as text for the scope's fingerprint.
  std::string layout() const {
    std::string out(detail::type_name<params>());
    out += '|';
    out += detail::type_name<std::tuple<Specs...>>();
    std::apply(
        [&](const auto&... s) {
          (
              [&] {
                using S = std::remove_cvref_t<decltype(s)>;
                if constexpr (detail::is_field_spec<S, detail::field_gen_spec> ||
                              detail::is_field_spec<S, detail::excluded_field>) {
                  char bytes[sizeof s.field];
                  std::memcpy(bytes, &s.field, sizeof bytes);
                  out.append(bytes, sizeof bytes);
                }
              }(),
              ...);
        },
        specs_);
    return out;
  }

  template <class T, std::size_t I>
  auto masked(const T& value) const {
    detail::masked_aggregate<T, mask_count<T, I>()> m{value, {}};
    std::size_t k = 0;
    std::apply(
        [&](const auto&... s) {
          (
              [&] {
                using S = std::remove_cvref_t<decltype(s)>;
                if constexpr (detail::masks_fields<S, T, I>) m.skipped[k++] = &(value.*s.field);
              }(),
              ...);
        },
        specs_);
    return m;
  }

  template <class Sink, class Args>
  void append_arguments(Sink& sink, const object_type* object, const Args& args) const {
    if constexpr (!std::is_void_v<object_type>) {
      if constexpr (detail::keyed_object<std::remove_const_t<object_type>>) {
        detail::append_part(sink, *object);
      }
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (append_argument<I>(sink, std::get<I>(args)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<params>>{});
  }
  /// The arguments' bytes, for raw keys: whole arguments, and the kept fields of masked ones.
  template <class Sink, class Args>
  void append_raw_arguments(Sink& sink, const Args& args) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (append_raw_argument<I>(sink, std::get<I>(args)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<params>>{});
  }
  template <std::size_t I, class Sink, class A>
  void append_raw_argument(Sink& sink, const A& argument) const {
    using T = std::remove_cvref_t<A>;
    if constexpr (argument_left_out<I>()) {
      return;
    } else if constexpr (std::is_aggregate_v<T> && mask_count<T, I>() > 0) {
      const auto m = masked<T, I>(argument);
      boost::pfr::for_each_field(argument, [&](const auto& f) {
        if (m.keeps(&f)) sink.raw(&f, sizeof f);
      });
    } else {
      sink.raw(&argument, sizeof argument);
    }
  }

  template <std::size_t I, class Sink, class A>
  void append_argument(Sink& sink, const A& argument) const {
    using T = std::remove_cvref_t<A>;
    if constexpr (argument_left_out<I>()) {
      return;
    } else if constexpr (std::is_aggregate_v<T> && mask_count<T, I>() > 0) {
      detail::append_masked(sink, masked<T, I>(argument));
    } else if constexpr (detail::is_specialization_of<T, std::optional>) {
      using V = typename T::value_type;
      if constexpr (std::is_aggregate_v<V> && mask_count<V, I>() > 0) {
        // An optional struct whose fields feed generations or are excluded: encoded as the
        // optional, with the struct masked inside (an empty one as an empty optional).
        if (argument) {
          sink.next();
          sink.open(detail::kind::some, {}, 0, 1);
          detail::append_masked(sink, masked<V, I>(*argument));
          sink.close(detail::kind::some);
          return;
        }
      }
      detail::append_part(sink, argument);
    } else {
      detail::append_part(sink, argument);
    }
  }

  // ---- keys: one request per call, resolved by the cache -------------------------------

  /// The request for a call's key: the head built at construction, a placeholder and an id
  /// per generation, then the arguments (raw or canonical).
  template <class Args>
  key_request make_request(const object_type* object, const Args& args, generation_ids& ids) const {
    key_request request(head_);
    std::size_t g = 0;
    std::apply([&](const auto&... s) { (add_generation(request, s, g, args, ids), ...); }, specs_);
    request.key().append_with([&](detail::binary_sink& sink) {
      if constexpr (raw_eligible) {
        if (use_raw_keys()) return append_raw_arguments(sink, args);
      }
      append_arguments(sink, object, args);
    });
    return request;
  }
  /// A call's key under the current generations.
  template <class Args>
  cache_key make_key(const object_type* object, const Args& args) const {
    generation_ids ids;
    key_request request = make_request(object, args, ids);
    return std::move(detail::cache_access::resolve(cache_, request));
  }

  // ---- the calls (reached through memo_calls) -------------------------------------------

  template <class... A>
  result_type invoke(object_type* object, A&&... args) const {
    if constexpr (std::is_void_v<object_type>) {
      return std::invoke(f_, std::forward<A>(args)...);
    } else {
      return std::invoke(f_, *object, std::forward<A>(args)...);
    }
  }

  template <class... A>
  result_type call(object_type* object, A&&... args) const {
    if (!enabled()) return invoke(object, std::forward<A>(args)...);
    if constexpr (field_hits_possible) {
      if (field_hits_) {
        if (std::optional<result_type> hit =
                field_hit(std::forward_as_tuple(std::as_const(args)...))) {
          hits_.increment();
          return std::move(*hit);
        }
      }
    }
    generation_ids ids;
    key_request request = make_request(object, std::forward_as_tuple(std::as_const(args)...), ids);
    auto hit = detail::cache_access::lookup<result_type>(cache_, request);
    return complete(std::move(hit), request.key(), object, std::forward<A>(args)...);
  }
  /// A call after its lookup: the hit, or the miss computed (once, with single flight).
  template <class... A>
  result_type complete(std::optional<result_type> hit, const cache_key& key, object_type* object,
                       A&&... args) const {
    if (hit) {
      hits_.increment();
      return std::move(*hit);
    }
    misses_.increment();
    if (options_.log_misses) {
      options_.logger("gencache: miss " + describe_call(key, object, std::as_const(args)...));
    }
    if (!options_.single_flight) return compute_and_store(key, object, std::forward<A>(args)...);
    return compute_once(key, object, std::forward<A>(args)...);
  }

  /// Single flight (basic_cache::compute_once): the leader re-checks the store, computes
  /// and stores outside any lock; its waiters get its result or its exception.
  template <class... A>
  result_type compute_once(const cache_key& key, object_type* object, A&&... args) const {
    return detail::cache_access::compute_once<result_type>(
        cache_, this, key, [&] { return compute_and_store(key, object, std::forward<A>(args)...); },
        [&] { waits_.increment(); });
  }

  template <class... A>
  result_type compute_and_store(const cache_key& key, object_type* object, A&&... args) const {
    result_type value = [&] {
      try {
        computes_.increment();
        return invoke(object, std::forward<A>(args)...);
      } catch (...) {
        exceptions_.increment();
        throw;
      }
    }();
    if (!cache_.set(key, value, options_.ttl).ok()) errors_.increment();
    return value;
  }

  template <class... A>
  bool erase_for(object_type* object, const A&... args) const {
    return cache_.erase(make_key(object, std::forward_as_tuple(args...)));
  }
  template <class... A>
  result_type refresh_for(object_type* object, A&&... args) const {
    const cache_key key = make_key(object, std::forward_as_tuple(std::as_const(args)...));
    return compute_and_store(key, object, std::forward<A>(args)...);
  }
  template <class... A>
  std::optional<result_type> peek_for(object_type* object, const A&... args) const {
    return cache_.template peek_at<result_type>(make_key(object, std::forward_as_tuple(args...)));
  }
  /// `memo file.cpp:42(53, "x") project@17… foo:user_id=53@17…`
  template <class... A>
  std::string describe_call(const object_type* object, const A&... args) const {
    return describe_call(make_key(object, std::forward_as_tuple(args...)), object, args...);
  }
  /// The same for a key already built, so that a logged miss shows the generation values
  /// the miss really used.
  template <class... A>
  std::string describe_call(const cache_key& key, const object_type* object,
                            const A&... args) const {
    std::string out = "memo " + scope_text_ + "(";
    detail::text_sink sink(out);
    append_arguments(sink, object, std::forward_as_tuple(args...));
    out += ')';
    std::size_t g = 0;
    const auto arguments = std::forward_as_tuple(args...);
    std::apply([&](const auto&... s) { (render_generation(out, s, g, arguments, key), ...); },
               specs_);
    return out;
  }
  /// ` project@17…` or ` foo:user_id=53@17…`: the generation, the value that fed it, and
  /// its counter's value in `key`.
  template <class S, class Args>
  void render_generation(std::string& out, const S& s, std::size_t& g, const Args& args,
                         const cache_key& key) const {
    if constexpr (detail::is_gen<S>) {
      const std::size_t i = g++;
      out += ' ';
      out += generations_[i].spec;
      if constexpr (!detail::is_plain_gen<S>) {
        out += '=';
        detail::render_generation_value(out, fed_value(s, args));
      }
      fmt::format_to(std::back_inserter(out), "@{}", key.generation(i));
    }
  }

  mutable basic_cache<Store> cache_;
  F f_;
  std::tuple<Specs...> specs_;
  memoize_options options_;
  std::string scope_;
  cache_key head_;               // domain, scope id and generation count: every key starts with it
  std::uint64_t head_hash_ = 0;  // hash_bytes(head_), where a raw key's hash starts
  bool field_hits_ = false;      // hits by field matching (see field_hit)
  std::string scope_text_;
  std::array<generation_slot, generation_count> generations_;
  std::atomic<bool> enabled_{true};

  mutable detail::striped_counter hits_, misses_, computes_, waits_, errors_, exceptions_;
};

template <class Store, class F, class... Specs>
memoized(basic_cache<Store>, F, Specs...) -> memoized<Store, F, Specs...>;

/// Builds a memoized wrapper on the heap, for `memoized_function` (or any shared use). Its
/// scope is the location of this call, as `memoized`'s is of its construction, unless
/// `memoize_options::name` names it.
template <class Store, class F, class... Specs>
struct memoize {
  using wrapper = memoized<Store, std::decay_t<F>, std::decay_t<Specs>...>;
  memoize(basic_cache<Store> cache, F&& f, Specs&&... specs,
          std::source_location where = std::source_location::current())
      : made(std::make_shared<wrapper>(std::move(cache), std::forward<F>(f),
                                       std::forward<Specs>(specs)..., where)) {}
  /// The wrapper, shared.
  operator std::shared_ptr<wrapper>() const& { return made; }
  operator std::shared_ptr<wrapper>() && { return std::move(made); }
  std::shared_ptr<wrapper> made;
};
template <class Store, class F, class... Specs>
memoize(basic_cache<Store>, F&&, Specs&&...) -> memoize<Store, F, Specs...>;

/// A memoized function held by value: any `memoized` wrapper (any store, any specs) behind
/// shared ownership, so that it can be a class member, be copied, moved and stored in
/// containers. `Signature` is the call's: `R(P...)`, or `R(C&, P...)` for a member function.
///
///     class nav_service {
///      public:
///       explicit nav_service(gencache::cache cache)
///           : nav_(gencache::memoize(cache, &render_nav, "nav",
///                                    gencache::gen("nav:user_id", &nav_args::user_id))) {}
///       std::string nav(const nav_args& a) const { return nav_(a); }
///      private:
///       gencache::memoized_function<std::string(const nav_args&)> nav_;
///     };
///
/// A call costs one virtual call more than the wrapper's. Copies share the wrapper (its
/// statistics, its switch, its flights). A default-constructed one is empty: calling it
/// throws std::bad_function_call. Thread-safety: as the wrapper's.
template <class Signature>
class memoized_function;

template <class R, class... P>
class memoized_function<R(P...)> {
 public:
  memoized_function() = default;
  /// Holds `wrapper` (not null: std::invalid_argument).
  /// Holds the wrapper `gencache::memoize(...)` made.
  template <class Store, class F, class... Specs>
  memoized_function(memoize<Store, F, Specs...> made)  // implicit, as std::function's
      : memoized_function(std::move(made.made)) {}
  template <class Store, class F, class... Specs>
  memoized_function(std::shared_ptr<memoized<Store, F, Specs...>> wrapper)  // implicit
      : held_(wrapper
                  ? std::make_shared<model<memoized<Store, F, Specs...>>>(std::move(wrapper))
                  : throw std::invalid_argument("gencache: memoized_function needs a wrapper")) {
    static_assert(std::is_same_v<typename memoized<Store, F, Specs...>::result_type, R>,
                  "gencache: memoized_function's result type is not the function's");
  }

  R operator()(P... args) const { return held().call(std::forward<P>(args)...); }
  bool erase(P... args) const { return held().erase(std::forward<P>(args)...); }
  /// `erase`, under the seed's name.
  bool invalidate(P... args) const { return held().erase(std::forward<P>(args)...); }
  R refresh(P... args) const { return held().refresh(std::forward<P>(args)...); }
  [[nodiscard]] std::optional<R> peek(P... args) const {
    return held().peek(std::forward<P>(args)...);
  }
  [[nodiscard]] std::string describe(P... args) const {
    return held().describe(std::forward<P>(args)...);
  }
  [[deprecated(
      "gencache: memoized_function::key(args...) is now describe(args...)")]] [[nodiscard]] std::
      string
      key(P... args) const {
    return describe(std::forward<P>(args)...);
  }
  [[nodiscard]] memoize_stats stats() const { return held().stats(); }
  void enable(bool on) const { held().enable(on); }
  [[nodiscard]] bool enabled() const { return held().enabled(); }
  [[nodiscard]] explicit operator bool() const noexcept { return held_ != nullptr; }

 private:
  struct interface {
    virtual ~interface() = default;
    virtual R call(P... args) = 0;
    virtual bool erase(P... args) = 0;
    virtual R refresh(P... args) = 0;
    virtual std::optional<R> peek(P... args) = 0;
    virtual std::string describe(P... args) = 0;
    virtual memoize_stats stats() const = 0;
    virtual void enable(bool on) = 0;
    virtual bool enabled() const = 0;
  };
  template <class W>
  struct model final : interface {
    explicit model(std::shared_ptr<W> w) : wrapper(std::move(w)) {}
    R call(P... args) override { return (*wrapper)(std::forward<P>(args)...); }
    bool erase(P... args) override { return wrapper->erase(std::forward<P>(args)...); }
    R refresh(P... args) override { return wrapper->refresh(std::forward<P>(args)...); }
    std::optional<R> peek(P... args) override { return wrapper->peek(std::forward<P>(args)...); }
    std::string describe(P... args) override { return wrapper->describe(std::forward<P>(args)...); }
    memoize_stats stats() const override { return wrapper->stats(); }
    void enable(bool on) override { wrapper->enable(on); }
    bool enabled() const override { return wrapper->enabled(); }
    std::shared_ptr<W> wrapper;
  };

  interface& held() const {
    if (!held_) throw std::bad_function_call();
    return *held_;
  }

  std::shared_ptr<interface> held_;
};

}  // namespace gencache
