// The memoized wrapper's type-independent part (detail/memoize_core.hpp), compiled once.
#include "gencache/detail/memoize_core.hpp"

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "gencache/detail/memoize_signature.hpp"
#include "gencache/detail/type_name.hpp"
#include "gencache/key.hpp"
#include "gencache/store.hpp"

namespace gencache::detail {

namespace {

// The bytes of an integer value in an id (its tag and 8 bytes), after the spec's.
constexpr std::size_t integer_value_bytes = sizeof(integer_generation_bytes{}.bytes);

void encode_slot(memo_generation_slot& slot) {
  encode_key_parts(slot.id_prefix, std::string_view(slot.spec));
  slot.spec_hash = hash_bytes({slot.id_prefix.data(), slot.id_prefix.size()});
  if (slot.id_prefix.size() + integer_value_bytes <= memo_generation_slot::id_block) {
    std::memcpy(slot.id_template, slot.id_prefix.data(), slot.id_prefix.size());
  }
}

}  // namespace

void prepare_plain_generation(memo_generation_slot& slot, std::string spec) {
  slot.spec = std::move(spec);
  if (!parse_generation_spec(slot.spec).empty()) {  // also checks the spec
    throw std::invalid_argument("gencache: generation '" + slot.spec +
                                "' is value-based: name the argument that gives its value, gen(\"" +
                                slot.spec + "\", gencache::arg<I>) or gen(\"" + slot.spec +
                                "\", &T::field)");
  }
  encode_slot(slot);
}

void prepare_value_generation(memo_generation_slot& slot, std::string spec) {
  slot.spec = std::move(spec);
  if (parse_generation_spec(slot.spec).empty()) {
    throw std::invalid_argument("gencache: generation '" + slot.spec +
                                "' takes its value from the arguments, so it must name a "
                                "parameter: '" +
                                slot.spec + ":user_id'");
  }
  encode_slot(slot);
}

memo_core::memo_core(memoize_options options, const std::source_location& where,
                     std::string_view callable_type, std::string_view layout, bool raw_keys,
                     std::size_t generation_count)
    : options_(std::move(options)) {
  check_ttl(options_.ttl);
  if (options_.name.empty()) {
    scope_ = fmt::format("{}:{}:{}:{}|{}", where.file_name(), where.line(), where.column(),
                         where.function_name(), callable_type);
    scope_text_ = fmt::format("{}:{}", file_basename(where.file_name()), where.line());
  } else {
    scope_ = "name:" + options_.name;
    scope_text_ = options_.name;
  }
  // Keys carry a 16-byte fingerprint of the scope (two independent 64-bit hashes), not the
  // scope itself: a full path would push every key past the inline buffer. On every
  // encoding the fingerprint also covers the parameter types, the specs and the fields they
  // leave out: a key holds the arguments kept, not which ones were kept, so two wrappers of
  // one name that leave out different arguments or fields (or take other parameter types,
  // for raw keys) must never share a scope (G5).
  std::string identity = scope_ + (raw_keys ? "|raw|" : "|canonical|");
  identity += layout;
  const std::uint64_t fingerprint[2] = {fnv1a(identity), hash_bytes(identity)};
  const std::string scope_id(reinterpret_cast<const char*>(fingerprint), sizeof fingerprint);
  head_ = cache_key(raw_keys ? key_domain::memoized_raw : key_domain::memoized, scope_id,
                    generation_count);
  head_hash_ = hash_bytes(head_.bytes());
  if (!options_.logger) {
    options_.logger = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
  }
  enabled_.store(!(options_.ignore_locally && environment_is_local()));
}

memoize_stats memo_core::stats() const noexcept {
  memoize_stats out{hits.load(),  misses.load(), computes.load(),
                    waits.load(), errors.load(), exceptions.load()};
  for (std::size_t i = 0; i < duration_histogram::bucket_count; ++i) {
    out.load_durations.counts[i] = load_buckets_[i].load(std::memory_order_relaxed);
  }
  // A sum past 2^63 ns (292 years of loads, summed over threads) reads as max.
  const std::uint64_t total = load_nanoseconds_.load(std::memory_order_relaxed);
  out.load_durations.sum = std::chrono::nanoseconds(
      total > static_cast<std::uint64_t>(std::chrono::nanoseconds::max().count())
          ? std::chrono::nanoseconds::max().count()
          : static_cast<std::int64_t>(total));
  return out;
}

void memo_core::log_miss(const std::string& description) const {
  if (options_.log_misses) options_.logger("gencache: miss " + description);
}

}  // namespace gencache::detail
