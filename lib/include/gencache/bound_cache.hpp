#pragma once
/// \file
/// The bound cache (the seed's CustomUseGenCache): a cache that remembers its generations,
/// so callers pass only the values of the value-based ones and the key parts.
///
///     gencache::cache cache;
///     gencache::bound_cache custom(cache, {"customgenz:user_id", "customgenz:blog_id"});
///     custom.set({{"blog_id", 17}, {"user_id", 123}}, first_val, key);
///     auto v = custom.get<std::string>({{"blog_id", 17}, {"user_id", 123}}, key);
///     custom.invalidate({{"user_id", 123}});   // only customgenz:user_id for user 123
///
/// Keys are the same as the direct interface's for the same generations and parts, so both
/// interfaces see each other's entries. On a store that pins counters (the memory store),
/// plain generations are resolved once, at construction; remote stores read them with every
/// request, like value-based ones.
///
/// Errors (std::invalid_argument, before any store access): a value-based generation without
/// a value, a value whose name no bound generation uses, an empty invalidation.
/// Thread-safety: as `basic_cache`; a bound cache is immutable after construction.

#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "gencache/cache.hpp"
#include "gencache/detail/memoize_signature.hpp"
#include "gencache/generation.hpp"
#include "gencache/memoize_specs.hpp"

namespace gencache {

/// A value for the parameter of value-based generations: `{"user_id", 123}`. A view: build
/// it in the call that uses it.
class named_value {
 public:
  template <class V>
  named_value(std::string_view name, const V& value)
      : name_(name), value_(&value), render_(&detail::render_value<V>) {
    detail::encode_generation_value(encoded_, detail::engaged_generation_value(value, name));
  }

  [[nodiscard]] std::string_view name() const noexcept { return name_; }
  /// The generation `spec` takes for this value.
  [[nodiscard]] generation_ref generation(std::string_view spec) const {
    return {generation_ref::encoded_t{}, spec, {encoded_.data(), encoded_.size()}, value_, render_};
  }

 private:
  std::string_view name_;
  key_bytes encoded_;
  const void* value_;
  void (*render_)(std::string&, const void*);
};

using named_values = std::initializer_list<named_value>;

/// For `basic_bound_cache::wrap`: the parameter `name` of the bound value-based generations
/// takes its value from a call's argument, `gencache::param("user_id", gencache::arg<0>)`,
/// or from a field of the argument of type T, `gencache::param("user_id", &T::user_id)`.
template <class Source>
struct param_source {
  std::string name;
  Source source;
};
template <std::size_t I>
param_source<arg_t<I>> param(std::string name, arg_t<I> source) {
  return {std::move(name), source};
}
template <class T, class M>
param_source<M T::*> param(std::string name, M T::*field) {
  detail::check_field_type<M>();
  return {std::move(name), field};
}

template <class Store>
class basic_bound_cache;

/// A function whose calls are cached under a bound cache's generations (made by
/// `basic_bound_cache::wrap`). Copyable; thread-safe like the bound cache.
template <class Store, class F, class... Sources>
class bound_function {
 public:
  bound_function(basic_bound_cache<Store> cache, std::string name, F f,
                 param_source<Sources>... sources)
      : cache_(std::move(cache)),
        name_(std::move(name)),
        f_(std::move(f)),
        sources_(std::move(sources)...) {}

  /// The cached result of `f(args...)`, or computed and stored: `get_or_compute` under the
  /// bound generations (G3, single flight), the key being the name and every argument.
  template <class... A>
  auto operator()(const A&... args) const {
    const auto arguments = std::forward_as_tuple(args...);
    return std::apply(
        [&](const auto&... source) {
          return cache_.get_or_compute(
              {named_value(source.name, value_of(source, arguments))...},
              [&] { return std::invoke(f_, args...); }, name_, args...);
        },
        sources_);
  }

 private:
  template <std::size_t I, class Arguments>
  static const auto& value_of(const param_source<arg_t<I>>&, const Arguments& arguments) {
    static_assert(I < std::tuple_size_v<Arguments>,
                  "gencache: gencache::arg<I> is past the last argument of the call");
    return std::get<I>(arguments);
  }
  template <class T, class M, class Arguments>
  static const auto& value_of(const param_source<M T::*>& s, const Arguments& arguments) {
    constexpr std::size_t index = []<class... A>(std::type_identity<std::tuple<A...>>) {
      return detail::parameter_holding<T, detail::any_arg, A...>();
    }(std::type_identity<std::remove_cvref_t<Arguments>>{});
    static_assert(std::is_same_v<std::remove_cvref_t<std::tuple_element_t<index, Arguments>>, T>,
                  "gencache: wrap takes a field of an argument of the struct type itself, not "
                  "of an optional");
    return std::get<index>(arguments).*(s.source);
  }

  mutable basic_bound_cache<Store> cache_;
  std::string name_;
  F f_;
  std::tuple<param_source<Sources>...> sources_;
};

template <class Store>
class basic_bound_cache {
 public:
  /// Binds `specs` over `cache`'s store. Throws std::invalid_argument for a malformed or
  /// repeated spec.
  basic_bound_cache(basic_cache<Store> cache, std::initializer_list<std::string_view> specs)
      : cache_(std::move(cache)) {
    for (std::string_view spec : specs) {
      for (const bound& b : bound_) {
        if (b.spec == spec) {
          throw std::invalid_argument("gencache: generation '" + std::string(spec) +
                                      "' is bound twice");
        }
      }
      bound& b = bound_.emplace_back();
      b.spec = std::string(spec);
      b.parameter = std::string(detail::parse_generation_spec(spec));
      if (b.parameter.empty()) {
        b.handle = cache_.try_pin_generation(spec);
      }
    }
  }

  template <class... Parts>
  [[nodiscard]] cache_key key(named_values values, const Parts&... parts) const {
    const auto refs = generations(values);
    return detail::cache_access::make_key(cache_, key_domain::direct, {},
                                          {refs.data(), refs.size()}, parts...);
  }

  /// The value under `values` and `parts`: on a remote store, the generations and the value
  /// in one round trip, as `cache.get`.
  template <class T, class... Parts>
  [[nodiscard]] std::optional<T> get(named_values values, const Parts&... parts) {
    const auto refs = generations(values);
    return detail::cache_access::get_current<T>(cache_, {refs.data(), refs.size()}, parts...);
  }
  /// Like `get`, without refreshing recency.
  template <class T, class... Parts>
  [[nodiscard]] std::optional<T> peek(named_values values, const Parts&... parts) {
    return cache_.template peek_at<T>(key(values, parts...));
  }
  template <class V, class... Parts>
  status set(named_values values, V&& value, const Parts&... parts) {
    return cache_.set(key(values, parts...), std::forward<V>(value));
  }
  /// `set` with an expiry: `custom.set({{"user_id", 7}}, v, gencache::expire_after{5min}, k)`.
  template <class V, class... Parts>
  status set(named_values values, V&& value, expire_after expiry, const Parts&... parts) {
    return cache_.set(key(values, parts...), std::forward<V>(value), expiry.ttl);
  }
  /// `basic_cache::get_or_compute` under the bound generations (same contract: G3, single
  /// flight, nothing stored under unknown generations).
  template <class F, class... Parts>
  requires std::invocable<F&>
  auto get_or_compute(named_values values, F&& compute, const Parts&... parts) {
    const auto refs = generations(values);
    return detail::cache_access::compute_if_absent(cache_, {refs.data(), refs.size()}, std::nullopt,
                                                   compute, parts...);
  }
  template <class F, class... Parts>
  requires std::invocable<F&>
  auto get_or_compute(named_values values, expire_after expiry, F&& compute,
                      const Parts&... parts) {
    detail::check_ttl(expiry.ttl);
    const auto refs = generations(values);
    return detail::cache_access::compute_if_absent(cache_, {refs.data(), refs.size()}, expiry.ttl,
                                                   compute, parts...);
  }
  template <class... Parts>
  bool erase(named_values values, const Parts&... parts) {
    return cache_.erase(key(values, parts...));
  }

  /// Invalidates, for each value given, exactly the bound value-based generations whose
  /// parameter it names, at that value. Plain generations are left alone (`invalidate_plain`).
  void invalidate(named_values values) {
    if (values.size() == 0) {
      throw std::invalid_argument("gencache: bound invalidate needs at least one value");
    }
    check_names(values);
    for (const named_value& v : values) {
      for (const bound& b : bound_) {
        if (b.parameter == v.name()) cache_.invalidate(v.generation(b.spec));
      }
    }
  }

  /// Invalidates a bound plain generation (`custom.invalidate_plain("project")`): every
  /// entry of this bound cache, and of any other user of that generation. Returns its new
  /// value. Throws std::invalid_argument if `spec` is not bound or is value-based (invalidate
  /// those at a value, with `invalidate`).
  std::uint64_t invalidate_plain(std::string_view spec) {
    for (const bound& b : bound_) {
      if (b.spec != spec) continue;
      if (!b.parameter.empty()) {
        throw std::invalid_argument("gencache: '" + b.spec +
                                    "' is value-based: invalidate it at a value, {{\"" +
                                    b.parameter + "\", value}}");
      }
      return cache_.invalidate(std::string_view(b.spec));
    }
    throw std::invalid_argument("gencache: '" + std::string(spec) + "' is not bound here");
  }

  /// `f`, its calls cached under the bound generations (the seed's `CustomUseGenCache.wrap`):
  /// `sources` say where each bound value-based generation's parameter comes from in a
  /// call, and `name` (stable, like `memoize_options::name`) keeps the function's entries
  /// apart from other uses of these generations. The key is the name and every argument.
  ///
  ///     gencache::bound_cache custom(cache, {"project", "blog:user_id"});
  ///     auto posts = custom.wrap("blog.posts", &load_posts, gencache::param("user_id",
  ///     gencache::arg<0>)); posts(123);                           // computed, then cached
  ///     custom.invalidate({{"user_id", 123}});  // user 123's entries, wrapped ones included
  ///
  /// Throws std::invalid_argument unless `sources` name each bound parameter exactly once.
  template <class F, class... Sources>
  [[nodiscard]] bound_function<Store, std::decay_t<F>, Sources...> wrap(
      std::string name, F&& f, param_source<Sources>... sources) const {
    for (const bound& b : bound_) {
      if (b.parameter.empty()) continue;
      const std::size_t given = ((sources.name == b.parameter ? 1 : 0) + ... + 0);
      if (given != 1) {
        throw std::invalid_argument("gencache: wrap needs exactly one gencache::param(\"" +
                                    b.parameter + "\", ...) for generation '" + b.spec + "'");
      }
    }
    const std::string_view names[] = {std::string_view(sources.name)..., std::string_view()};
    for (std::size_t i = 0; i + 1 < std::size(names); ++i) {
      bool used = false;
      for (const bound& b : bound_) used = used || b.parameter == names[i];
      if (!used) {
        throw std::invalid_argument("gencache: wrap: '" + std::string(names[i]) +
                                    "' is not the parameter of any bound generation");
      }
    }
    return {*this, std::move(name), std::forward<F>(f), std::move(sources)...};
  }

  [[nodiscard]] basic_cache<Store>& cache() noexcept { return cache_; }

 private:
  struct bound {
    std::string spec;
    std::string parameter;  // empty for a plain generation
    std::optional<generation_handle> handle;
  };

  /// The generations of a call, in the order bound: plain ones as bound, value-based ones at
  /// the value given for their parameter. Throws std::invalid_argument for a value missing
  /// or not bound.
  [[nodiscard]] boost::container::small_vector<generation_ref, 4> generations(
      named_values values) const {
    check_names(values);
    boost::container::small_vector<generation_ref, 4> refs;
    for (const bound& b : bound_) {
      if (b.parameter.empty()) {
        if (b.handle) {
          refs.emplace_back(*b.handle);
        } else {
          refs.emplace_back(std::string_view(b.spec));
        }
        continue;
      }
      const named_value* v = find(values, b.parameter);
      if (v == nullptr) {
        throw std::invalid_argument("gencache: no value for '" + b.parameter + "' (generation '" +
                                    b.spec + "')");
      }
      refs.push_back(v->generation(b.spec));
    }
    return refs;
  }

  static const named_value* find(named_values values, std::string_view name) noexcept {
    for (const named_value& v : values) {
      if (v.name() == name) return &v;
    }
    return nullptr;
  }
  void check_names(named_values values) const {
    for (const named_value& v : values) {
      bool used = false;
      for (const bound& b : bound_) used = used || b.parameter == v.name();
      if (!used) {
        throw std::invalid_argument("gencache: '" + std::string(v.name()) +
                                    "' is not the parameter of any bound generation");
      }
    }
  }

  basic_cache<Store> cache_;
  std::vector<bound> bound_;
};

}  // namespace gencache
