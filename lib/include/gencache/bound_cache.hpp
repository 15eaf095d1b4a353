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

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "gencache/cache.hpp"
#include "gencache/generation.hpp"

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
    return cache_.make_key(key_domain::direct, {}, {refs.data(), refs.size()}, parts...);
  }

  /// The value under `values` and `parts`: on a remote store, the generations and the value
  /// in one round trip, as `cache.get`.
  template <class T, class... Parts>
  [[nodiscard]] std::optional<T> get(named_values values, const Parts&... parts) {
    const auto refs = generations(values);
    return cache_.template get_current<T>({refs.data(), refs.size()}, parts...);
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
    return cache_.compute_if_absent({refs.data(), refs.size()}, std::nullopt, compute, parts...);
  }
  template <class F, class... Parts>
  requires std::invocable<F&>
  auto get_or_compute(named_values values, expire_after expiry, F&& compute,
                      const Parts&... parts) {
    detail::check_ttl(expiry.ttl);
    const auto refs = generations(values);
    return cache_.compute_if_absent({refs.data(), refs.size()}, expiry.ttl, compute, parts...);
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
