#pragma once
// A memoized wrapper's keys: its specs and its generations' slots, and how a call's key is
// built from them — the generations' ids (from the slots, with the values the arguments
// feed), the arguments kept (raw bytes or the canonical encoding, with excluded and
// generation-feeding fields masked), the request the cache resolves, the layout that goes
// into the scope's fingerprint, and the readable rendering of the generations. It knows
// nothing of the store, the calls or their statistics (memoize.hpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <boost/pfr/core.hpp>

#include "gencache/cache_key.hpp"
#include "gencache/detail/memoize_core.hpp"
#include "gencache/detail/memoize_plan.hpp"
#include "gencache/detail/memoize_signature.hpp"
#include "gencache/generation.hpp"
#include "gencache/key.hpp"

namespace gencache::detail {

template <class Params, class Object, class... Specs>
class memo_keys {
 public:
  using plan = memo_plan<Params, Object, Specs...>;
  using params = Params;
  using object_type = Object;
  static constexpr std::size_t generation_count = plan::generation_count;

  explicit memo_keys(std::tuple<Specs...> specs) : specs_(std::move(specs)) {}

  [[nodiscard]] const std::tuple<Specs...>& specs() const noexcept { return specs_; }
  [[nodiscard]] const memo_generation_slot& slot(std::size_t i) const noexcept {
    return generations_[i];
  }

  using generation_slot = detail::memo_generation_slot;
  static constexpr std::size_t id_block = generation_slot::id_block;
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

  /// Prepares the generations' slots: checks and encodes their specs; `pin(spec)` gives a
  /// plain generation's pinned counter, if the store pins.
  template <class Pin>
  void prepare(Pin&& pin) {
    for_each_generation_spec([&](const auto& s, std::size_t i) {
      using S = std::remove_cvref_t<decltype(s)>;
      generation_slot& slot = generations_[i];
      if constexpr (detail::is_plain_gen<S>) {
        if constexpr (std::is_same_v<S, detail::plain_gen_spec>) {
          detail::prepare_plain_generation(slot, s.spec);
        } else {
          detail::prepare_plain_generation(slot, std::string(std::string_view(s)));
        }
        slot.handle = pin(slot.spec);
      } else {
        detail::prepare_value_generation(slot, s.spec);
      }
    });
  }

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

  /// Calls `f(spec, index)` for each generation spec, in order.
  template <class Visit>
  void for_each_generation_spec(Visit&& f) const {
    std::size_t g = 0;
    std::apply(
        [&](const auto&... s) {
          (
              [&] {
                if constexpr (detail::is_gen<std::remove_cvref_t<decltype(s)>>) f(s, g++);
              }(),
              ...);
        },
        specs_);
  }
  /// Calls `f(spec, index, slot)` for each generation spec, in order.
  template <class Visit>
  void for_each_generation(Visit&& f) const {
    for_each_generation_spec([&](const auto& s, std::size_t i) { f(s, i, generations_[i]); });
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
    detail::masked_aggregate<T, plan::template mask_count<T, I>()> m{value, {}};
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
    if constexpr (plan::template argument_left_out<I>()) {
      return;
    } else if constexpr (std::is_aggregate_v<T> && plan::template mask_count<T, I>() > 0) {
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
    if constexpr (plan::template argument_left_out<I>()) {
      return;
    } else if constexpr (detail::maskable<T> && plan::template mask_count<T, I>() > 0) {
      detail::append_masked(sink, masked<T, I>(argument));
    } else if constexpr (detail::is_specialization_of<T, std::optional>) {
      using V = typename T::value_type;
      if constexpr (detail::maskable<V> && plan::template mask_count<V, I>() > 0) {
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

  /// The request for a call's key: `head` (built at construction), a placeholder and an id
  /// per generation, then the arguments (raw or canonical).
  template <class Args>
  key_request make_request(const cache_key& head, bool raw, const object_type* object,
                           const Args& args, generation_ids& ids) const {
    key_request request(head);
    std::size_t g = 0;
    std::apply([&](const auto&... s) { (add_generation(request, s, g, args, ids), ...); }, specs_);
    request.key().append_with([&](detail::binary_sink& sink) {
      if constexpr (plan::raw_eligible) {
        if (raw) return append_raw_arguments(sink, args);
      }
      append_arguments(sink, object, args);
    });
    return request;
  }
  /// ` project@17… foo:user_id=53@17…`: each generation, the value that fed it, and its
  /// counter's value in `key`.
  template <class Args>
  void render_generations(std::string& out, const Args& args, const cache_key& key) const {
    std::size_t g = 0;
    std::apply([&](const auto&... s) { (render_generation(out, s, g, args, key), ...); }, specs_);
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

 private:
  std::tuple<Specs...> specs_;
  std::array<memo_generation_slot, generation_count> generations_;
};

}  // namespace gencache::detail
