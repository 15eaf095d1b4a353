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
/// (docs/design.md, "Keys"; also through an any_store over the memory store). `describe(args...)`,
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
/// detail/memoize_signature.hpp; the compile-time plan in detail/memoize_plan.hpp; what
/// every wrapper has whatever its types (options, scope, statistics) in
/// detail/memoize_core.hpp, compiled once; the key builder in detail/memoize_keys.hpp; the
/// hit that builds no key in detail/memoize_field_hits.hpp. This header holds the wrapper:
/// its calls, the miss path, batches, and the holders `memoize` and `memoized_function`.
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
#include "gencache/detail/memoize_core.hpp"
#include "gencache/detail/memoize_field_hits.hpp"
#include "gencache/detail/memoize_keys.hpp"
#include "gencache/detail/memoize_plan.hpp"
#include "gencache/detail/memoize_signature.hpp"
#include "gencache/detail/striped_counter.hpp"
#include "gencache/generation.hpp"
#include "gencache/key.hpp"
#include "gencache/memoize_specs.hpp"

namespace gencache {

namespace detail {

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
  using key_builder = detail::memo_keys<params, object_type, Specs...>;
  using plan = typename key_builder::plan;
  static constexpr std::size_t generation_count = plan::generation_count;

 public:
  using result_type = typename signature::result;

  static_assert((detail::is_known_spec<Specs> && ...),
                "gencache: memoized takes generations (\"name\", gencache::gen(...)), "
                "gencache::exclude(...) and one gencache::memoize_options after the callable");
  static_assert(plan::options_count <= 1, "gencache: give memoize_options once");
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
      : cache_(std::move(over)),
        f_(std::move(f)),
        keys_(std::tuple<Specs...>(std::move(specs)...)),
        core_(options_of(keys_.specs()), where, detail::type_name<F>(), keys_.layout(),
              use_raw_keys(), generation_count) {
    keys_.prepare([&](std::string_view spec) { return cache_.try_pin_generation(spec); });
    (plan::template check_spec<Specs>(), ...);
    field_hits_ = decide_field_hits();
  }

  memoized(const memoized&) = delete;
  memoized& operator=(const memoized&) = delete;

  /// Turns caching on or off at run time for this wrapper. Off (or with its shared
  /// `memoize_options::toggle` off), calls run the function and touch no entry;
  /// invalidate, refresh (which computes and stores), peek and describe still work.
  void enable(bool on) noexcept { core_.enable(on); }
  [[nodiscard]] bool enabled() const noexcept { return core_.enabled(); }

  [[nodiscard]] memoize_stats stats() const noexcept { return core_.stats(); }
  /// Whether hits skip building their key (docs/design.md, "Keys"): decided at construction,
  /// true over the memory store, or an any_store holding one, for a wrapper with raw keys
  /// whose plain generations are pinned, whose value-based ones take integers and whose key
  /// arguments fit 64 bytes.
  [[nodiscard]] bool key_free_hits() const noexcept { return field_hits_; }
  /// The identity of this wrapper in keys (location or name).
  [[nodiscard]] const std::string& scope() const noexcept { return core_.scope(); }
  [[nodiscard]] basic_cache<Store>& cache() noexcept { return cache_; }

 private:
  using generation_slot = detail::memo_generation_slot;
  using generation_ids = typename key_builder::generation_ids;

  static memoize_options options_of(const std::tuple<Specs...>& specs) {
    memoize_options options;
    std::apply(
        [&](const auto&... s) {
          (
              [&] {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, memoize_options>) {
                  options = s;
                }
              }(),
              ...);
        },
        specs);
    return options;
  }

  // ---- raw keys: arguments keyed by their object representation ------------------------

  /// Raw keys for a local store when the plan allows them. A store chosen at run time
  /// (any_store) says at construction whether it is local.
  bool use_raw_keys() const noexcept {
    if constexpr (!plan::raw_eligible) {
      return false;
    } else {
      return store_traits<Store>::resolves_locally(cache_.store());
    }
  }

  // ---- the hit path: no key bytes (detail/memoize_field_hits.hpp) -------------------------

  static constexpr bool field_hits_possible =
      plan::field_hits_eligible && store_traits<Store>::matches_fields;
  using field_path =
      detail::memo_field_path<typename store_traits<Store>::field_store, key_builder>;
  [[nodiscard]] const field_path& fields() const noexcept { return field_path_; }

  /// Whether this wrapper serves hits by field matching (decided at construction).
  bool decide_field_hits() const {
    if constexpr (!field_hits_possible) {
      return false;
    } else {
      return use_raw_keys() && field_path_.usable(core_);
    }
  }

  /// Calls in batches (memo_calls::call_many). On the hit path the memory accesses of up to
  /// `batch_size` independent calls overlap, in passes over the batch, each touching what
  /// the previous one prefetched: (1) each call's generation fields, from registers and the
  /// thread's remembered counters; (2) the counters it does not remember: their index slots
  /// prefetched, then their nodes, then read; (3) the keys hashed and their index slots
  /// prefetched; (4) the entries prefetched; (5) each entry probed. A call that does not hit
  /// there is made as a single call, in order. (Passes 2 to 4 are the field path's; the
  /// rest stays in one function, ~70 lines, because every pass shares the batch's arrays and
  /// its early end.)
  static constexpr std::size_t batch_size = field_path::prefetch_width;
  template <class Calls, class Apply, class Emit>
  void call_batch(Calls& calls, Apply&& apply, Emit&& emit) const {
    auto single = [&](const auto& c) {
      emit(apply(c, [&](const auto&... a) { return call(nullptr, a...); }));
    };
    if constexpr (field_hits_possible) {
      if (field_hits_ && enabled()) {
        using iterator = std::ranges::iterator_t<Calls>;
        const field_path& path = fields();
        typename field_path::field_key keys[batch_size];
        std::uint64_t deferred[batch_size];
        iterator elements[batch_size];
        auto it = std::ranges::begin(calls);
        const auto end = std::ranges::end(calls);
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
          std::uint64_t changes = path.generation_changes();  // before any is read
          std::uint64_t any_deferred = 0;
          for (std::size_t j = 0; j < n; ++j) {
            try {
              deferred[j] = 0;
              apply(*elements[j], [&](const auto&... a) {
                path.make_field_key(keys[j], std::forward_as_tuple(a...), &deferred[j]);
                return 0;
              });
              any_deferred |= deferred[j];
            } catch (...) {
              end_batch_at(j);
            }
          }
          if (any_deferred != 0) {
            if (const std::size_t j = path.read_deferred_batch(keys, deferred, n); j != n) {
              end_batch_at(j);
            }
          }
          path.hash_and_prefetch_batch(keys, n);
          for (std::size_t j = 0; j < n; ++j) {
            // A counter bumped or evicted since the batch read them (by a call before this
            // one, by reading a counter in pass 2, by another thread): the calls left read
            // theirs again, as single calls made now would.
            if (const std::uint64_t now = path.generation_changes(); now != changes) {
              changes = now;
              for (std::size_t m = j; m < n; ++m) path.refresh_field_key(keys[m]);
            }
            std::optional<result_type> hit;
            if (enabled())
              hit = path.template find_field_key<result_type>(keys[j]);  // a call may switch it off
            if (hit) {
              core_.hits.increment();
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

  // ---- keys: one request per call, resolved by the cache -------------------------------

  /// A call's key under the current generations.
  template <class Args>
  cache_key make_key(const object_type* object, const Args& args) const {
    generation_ids ids;
    key_request request = keys_.make_request(core_.head(), use_raw_keys(), object, args, ids);
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
        if (std::optional<result_type> hit = fields().template field_hit<result_type>(
                std::forward_as_tuple(std::as_const(args)...))) {
          core_.hits.increment();
          return std::move(*hit);
        }
      }
    }
    generation_ids ids;
    key_request request = keys_.make_request(core_.head(), use_raw_keys(), object,
                                             std::forward_as_tuple(std::as_const(args)...), ids);
    auto hit = detail::cache_access::lookup<result_type>(cache_, request);
    return complete(std::move(hit), request.key(), object, std::forward<A>(args)...);
  }
  /// A call after its lookup: the hit, or the miss computed (once, with single flight).
  template <class... A>
  result_type complete(std::optional<result_type> hit, const cache_key& key, object_type* object,
                       A&&... args) const {
    if (hit) {
      core_.hits.increment();
      return std::move(*hit);
    }
    core_.misses.increment();
    if (core_.options().log_misses) {
      core_.log_miss(describe_call(key, object, std::as_const(args)...));
    }
    if (!core_.options().single_flight)
      return compute_and_store(key, object, std::forward<A>(args)...);
    return compute_once(key, object, std::forward<A>(args)...);
  }

  /// Single flight (basic_cache::compute_once): the leader re-checks the store, computes
  /// and stores outside any lock; its waiters get its result or its exception.
  template <class... A>
  result_type compute_once(const cache_key& key, object_type* object, A&&... args) const {
    return detail::cache_access::compute_once<result_type>(
        cache_, this, key, [&] { return compute_and_store(key, object, std::forward<A>(args)...); },
        [&] { core_.waits.increment(); });
  }

  template <class... A>
  result_type compute_and_store(const cache_key& key, object_type* object, A&&... args) const {
    const auto started = std::chrono::steady_clock::now();
    result_type value = [&] {
      try {
        core_.computes.increment();
        return invoke(object, std::forward<A>(args)...);
      } catch (...) {
        core_.exceptions.increment();
        throw;
      }
    }();
    core_.record_load(std::chrono::steady_clock::now() - started);
    if (!cache_.set(key, value, core_.options().ttl).ok()) core_.errors.increment();
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
    std::string out = "memo " + core_.scope_text() + "(";
    detail::text_sink sink(out);
    keys_.append_arguments(sink, object, std::forward_as_tuple(args...));
    out += ')';
    keys_.render_generations(out, std::forward_as_tuple(args...), key);
    return out;
  }
  mutable basic_cache<Store> cache_;
  F f_;
  key_builder keys_;        // specs, generation slots, key building
  detail::memo_core core_;  // options, scope and head, switch, statistics
  field_path field_path_{store_traits<Store>::field_store_of(cache_.store()), keys_,
                         core_};  // the key-free hit path over them
  bool field_hits_ = false;       // hits by field matching (see field_hit)
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
