#pragma once
// A memoized call's hit without key bytes.
//
// On a store that matches fields (the memory store), a raw-keyed call whose generations
// are plain (pinned) or fed by integers looks its entry up without building the key: the
// generation values come from the handles' loads and from the thread's remembered
// counters (compared field by field), the key's hash from those values and the
// arguments' bytes (`detail::raw_key_hash_*`, the hash `cache_key::finish` gives the same
// key's bytes), and the entry is matched by comparing its stored key with the head, each
// generation and the arguments in place (a counter the thread does not remember is found
// in the store's table by the same fields; one that does not exist yet is read with its id
// built, which creates it). Only a hit is served there; anything else (a miss,
// an expired entry, another type) takes the ordinary path, which builds the key and
// counts.
//
// memoize.hpp's wrapper holds a memo_field_path over the store that matches fields (the
// memory store, or the one an any_store holds in process: store_traits::field_store), used
// when its plan and its store allow field hits (`usable`); its batches use the same steps.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include <boost/endian/conversion.hpp>

#include "gencache/cache_key.hpp"
#include "gencache/detail/memoize_core.hpp"
#include "gencache/detail/memoize_keys.hpp"
#include "gencache/generation.hpp"

namespace gencache::detail {

template <class Store, class Keys>
class memo_field_path {
 public:
  using plan = typename Keys::plan;
  using generation_slot = memo_generation_slot;
  static constexpr std::size_t generation_count = Keys::generation_count;

  /// How many hashes a batch's prefetch pass takes at once: a batch's size.
  static constexpr std::size_t prefetch_width = 16;

  /// Over `store`, which may be null (a run-time store with no store in process): then the
  /// path is never used (`usable`).
  memo_field_path(Store* store, const Keys& keys, const memo_core& core) noexcept
      : store_(store),
        keys_(keys),
        head_(core.head().bytes().data()),
        head_hash_(core.head_hash()) {}

  /// The store's count of counter changes (memory_store::generation_changes): a batch
  /// reads its counters again when it moved.
  [[nodiscard]] std::uint64_t generation_changes() const noexcept {
    return store_->generation_changes();
  }
  /// Whether a wrapper with raw keys can hit by fields: a store to ask, every plain
  /// generation pinned, and the head of the short form.
  bool usable(const memo_core& core) const {
    if (store_ == nullptr || core.head().bytes().size() != short_head_size) return false;
    bool pinned = true;
    keys_.for_each_generation([&](const auto& s, std::size_t, const generation_slot& slot) {
      if constexpr (is_plain_gen<std::remove_cvref_t<decltype(s)>>) {
        pinned = pinned && slot.handle;
      }
    });
    return pinned;
  }

  /// Head bytes of a memoized key whose generation count fits one byte: domain, string tag,
  /// scope size, the 16-byte scope fingerprint, generation count.
  static constexpr std::size_t short_head_size = 20;
  using raw_arguments = raw_argument_buffer<plan::raw_arguments_bound>;

  /// What the hit path knows of a call's key without building it.
  struct field_key {
    std::uint64_t identities[generation_count + 1];
    std::uint64_t values[generation_count + 1];
    integer_generation_bytes encodings[generation_count + 1];  // value-based ones'
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
    if constexpr (is_plain_gen<S>) {
      k.identities[i] = slot.spec_hash;
      k.values[i] = slot.handle->counter().load(std::memory_order_acquire);
    } else {
      const auto& value = engaged_generation_value(keys_.fed_value(s, args), slot.spec);
      const auto encoded = encode_integer_generation_value(value);
      k.identities[i] = integer_generation_id_hash(slot.spec_hash, encoded.tag, encoded.little);
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
      const generation_slot& slot, const integer_generation_bytes& encoded,
      std::uint64_t hash) const noexcept {
    return store_->remembered_generation(
        hash, slot.id_prefix.size() + sizeof encoded.bytes,
        [&](std::string_view id) { return integer_id_matches(id, slot, encoded); });
  }
  /// Its value read from the store (created if absent).
  std::uint64_t read_integer_generation(const generation_slot& slot,
                                        const integer_generation_bytes& encoded,
                                        std::uint64_t hash) const {
    typename Keys::generation_id_storage storage;
    return store_->read_generation(keys_.integer_generation_id(storage, slot, encoded, hash));
  }
  /// Its value now: remembered by the thread, else found in the store's table by its id's
  /// fields, else read with its id built (which creates the counter).
  std::uint64_t current_integer_generation(const generation_slot& slot,
                                           const integer_generation_bytes& encoded,
                                           std::uint64_t hash) const {
    const std::size_t spec_size = slot.id_prefix.size();
    const auto existing = store_->existing_generation(
        hash, spec_size + sizeof encoded.bytes,
        [&](std::string_view id) { return integer_id_matches(id, slot, encoded); });
    return existing ? *existing : read_integer_generation(slot, encoded, hash);
  }
  /// Whether `id` (of the spec's size plus an integer's) is the id of value-based
  /// generation `slot` fed `encoded`: its value's bytes first, then its spec's.
  static bool integer_id_matches(std::string_view id, const generation_slot& slot,
                                 const integer_generation_bytes& encoded) noexcept {
    const std::size_t spec_size = slot.id_prefix.size();
    std::uint64_t little = 0;
    std::memcpy(&little, id.data() + spec_size + 1, sizeof little);
    return id[spec_size] == encoded.tag && little == encoded.little &&
           same_bytes_at(id, 0, slot.id_prefix.data(), spec_size);
  }
  /// Fills `k` for a call. With `deferred` (a batch), counters the thread does not remember
  /// are left unread (see `generation_field`) and the hash is not computed: the batch reads
  /// them together, then calls `hash_field_key`.
  template <class Args>
  void make_field_key(field_key& k, const Args& args, std::uint64_t* deferred = nullptr) const {
    keys_.for_each_generation([&](const auto& s, std::size_t i, const generation_slot& slot) {
      generation_field(s, i, slot, args, k, deferred);
    });
    k.arguments.size = 0;  // a batch reuses its keys
    keys_.append_raw_arguments(k.arguments, args);
    if (deferred == nullptr) hash_field_key(k);
  }
  /// Reads the counters a batch's `make_field_key` left unread (`deferred`'s bits).
  void read_deferred_generations(std::uint64_t deferred, field_key& k) const {
    if constexpr (generation_count > 0) {  // (no slot to index: GCC's -Warray-bounds)
      for (; deferred != 0; deferred &= deferred - 1) {
        const auto i = static_cast<std::size_t>(std::countr_zero(deferred));
        k.values[i] = current_integer_generation(keys_.slot(i), k.encodings[i], k.identities[i]);
      }
    }
  }
  /// Pass 2 of a batch of `n` keys: the counters their calls did not remember
  /// (`deferred[j]`'s bits), their index slots prefetched, then their nodes, then each read.
  /// The index of the first call whose counters could not be read (it ends the batch), or n.
  std::size_t read_deferred_batch(field_key* keys, const std::uint64_t* deferred,
                                  std::size_t n) const {
    using pass_kind = typename Store::prefetch_pass;
    std::uint64_t hashes[prefetch_width];
    for (const pass_kind kind : {pass_kind::generation_slots, pass_kind::generations}) {
      std::size_t count = 0;
      for (std::size_t j = 0; j < n; ++j) {
        for (std::uint64_t bits = deferred[j]; bits != 0; bits &= bits - 1) {
          if (count == prefetch_width) {
            store_->prefetch(std::span<const std::uint64_t>(hashes, count), kind);
            count = 0;
          }
          hashes[count++] = keys[j].identities[std::countr_zero(bits)];
        }
      }
      store_->prefetch(std::span<const std::uint64_t>(hashes, count), kind);
    }
    for (std::size_t j = 0; j < n; ++j) {
      try {
        read_deferred_generations(deferred[j], keys[j]);
      } catch (...) {
        return j;
      }
    }
    return n;
  }
  /// Passes 3 and 4 of a batch of `n` (at most `prefetch_width`) keys: each hashed, then
  /// their entries' index slots prefetched, then the entries.
  void hash_and_prefetch_batch(field_key* keys, std::size_t n) const {
    using pass_kind = typename Store::prefetch_pass;
    std::uint64_t hashes[prefetch_width];
    for (std::size_t j = 0; j < n; ++j) {
      hash_field_key(keys[j]);
      hashes[j] = keys[j].hash;
    }
    store_->prefetch(std::span<const std::uint64_t>(hashes, n), pass_kind::entry_slots);
    store_->prefetch(std::span<const std::uint64_t>(hashes, n), pass_kind::entries);
  }
  /// Reads every generation value of `k` again, as a single call would now, and hashes it:
  /// for a batch whose counters moved after it read them.
  void refresh_field_key(field_key& k) const {
    keys_.for_each_generation([&](const auto& s, std::size_t i, const generation_slot& slot) {
      if constexpr (is_plain_gen<std::remove_cvref_t<decltype(s)>>) {
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
      hash = raw_key_hash_generation(hash, k.identities[i], k.values[i]);
    }
    k.hash = raw_key_hash_parts(hash, k.arguments.bytes, k.arguments.size);
  }
  /// The entry of `k`: the value on a hit (counted by the store), else nullopt, counting
  /// nothing.
  template <class Result>
  std::optional<Result> find_field_key(const field_key& k) const {
    const char* head = head_;
    return store_->template get_hit<Result>(k.hash, [&](std::string_view key) {
      constexpr std::size_t stride = cache_key::generation_stride;
      if (key.size() != short_head_size + generation_count * stride + k.arguments.size ||
          !same_bytes_at(key, 0, head, short_head_size)) {
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
      return same_bytes_at(key, short_head_size + generation_count * stride, k.arguments.bytes,
                           k.arguments.size);
    });
  }
  /// A call's hit, or nullopt (counting nothing: the ordinary path then counts).
  template <class Result, class Args>
  std::optional<Result> field_hit(const Args& args) const {
    field_key k;
    make_field_key(k, args);
    return find_field_key<Result>(k);
  }

 private:
  Store* store_;
  const Keys& keys_;
  // Copies of the head's bytes' address and hash (the core's, which never change): the hit
  // path reads them from here, one load each, not through the core.
  const char* head_;
  std::uint64_t head_hash_;
};

}  // namespace gencache::detail
