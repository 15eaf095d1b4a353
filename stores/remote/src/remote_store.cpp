// The remote store's protocol over any back end (remote_store.hpp): remote names of values
// and counters, fleet-unique counter values, sealed values, the guarded read of a value
// with its counters, the generation window, and errors counted, never thrown.
#include "gencache/remote_store.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <limits>
#include <random>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>
#include <boost/endian/conversion.hpp>

#include "gencache/remote_key.hpp"

namespace gencache {

namespace detail {

std::uint64_t next_fleet_generation_value() noexcept {
  thread_local std::mt19937_64 random_bits{std::random_device{}()};
  static std::atomic<std::uint64_t> last{0};
  const auto micros =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  const std::uint64_t candidate = (micros << 10) | (random_bits() & 1023);
  std::uint64_t previous = last.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    next = std::max(previous + 1, candidate);
  } while (!last.compare_exchange_weak(previous, next, std::memory_order_relaxed));
  return next;
}

status foreign_counter(std::string_view location, std::string_view key, std::string_view text) {
  return {errc::protocol, fmt::format("gencache: {} on {} holds {:?}, not a gencache generation",
                                      key, location, text.substr(0, 40))};
}

std::optional<std::uint64_t> parse_generation_text(std::string_view text) noexcept {
  if (text.empty() || text.size() > 19 || text.front() == '0') return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < 2 || value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return value;
}

}  // namespace detail

namespace {

using generation_values = boost::container::small_vector<std::uint64_t, 4>;
using generation_names = boost::container::small_vector<std::string, 4>;

/// One fresh value for each of `n` counters: every counter starts at a value of its own.
generation_values fresh_generation_values(std::size_t n) {
  generation_values fresh(n);
  for (std::uint64_t& f : fresh) f = detail::next_fleet_generation_value();
  return fresh;
}

// "@" + up to 19 digits per generation value.
constexpr std::size_t generation_suffix_room = 20;

void append_generations(std::string& out, std::span<const std::uint64_t> values) {
  for (const std::uint64_t v : values) fmt::format_to(std::back_inserter(out), "@{}", v);
}

// Every value on the server starts with a seal: the 64-bit hash of the bytes that follow,
// seeded with the hash of the name they were stored under (XXH3, little-endian). A value is
// returned only when its seal matches both, so bytes that reach a name other than the one
// they were written under (a desynchronised connection, a proxy that mixes up replies, a
// server bug) are an error, never another key's value (G5), and so are bytes changed on
// the way or at rest (a flipped bit in a string decodes fine, but breaks the seal).
constexpr std::size_t seal_size = 8;

std::uint64_t seal_of(std::string_view name, std::string_view bytes) noexcept {
  return boost::endian::native_to_little(
      XXH3_64bits_withSeed(bytes.data(), bytes.size(), hash_bytes(name)));
}

std::string sealed(std::string_view name, std::string_view bytes) {
  const std::uint64_t seal = seal_of(name, bytes);
  std::string out;
  out.reserve(seal_size + bytes.size());
  out.append(reinterpret_cast<const char*>(&seal), seal_size);
  out.append(bytes);
  return out;
}

/// `got` without its seal, if the seal is `name`'s.
result<std::optional<std::string>> unsealed(std::string_view name,
                                            result<std::optional<std::string>> got) {
  if (!got || !got.value()) return got;
  std::string& bytes = *got.value();
  const bool intact = bytes.size() >= seal_size && [&] {
    const std::uint64_t seal = seal_of(name, std::string_view(bytes).substr(seal_size));
    return std::memcmp(bytes.data(), &seal, seal_size) == 0;
  }();
  if (!intact) {
    return status(errc::serialization,
                  fmt::format("gencache: the value read under {} does not carry its seal: it "
                              "was stored under another name, changed since, or not written by "
                              "gencache",
                              name));
  }
  bytes.erase(0, seal_size);
  return got;
}

bool has_unknown(const split_key& k) noexcept {
  for (std::size_t i = 0; i < k.generation_count; ++i) {
    if (k.generation(i) == unknown_generation) return true;
  }
  return false;
}

status unknown_generations() {
  return {errc::connection,
          "gencache: the key's generations could not be read from the server; nothing is read "
          "or stored under it"};
}

}  // namespace

result<std::optional<std::string>> remote_backend::get_current(std::span<const std::string> keys,
                                                               std::span<const std::uint64_t> fresh,
                                                               std::span<std::uint64_t> out,
                                                               std::string_view value_key_base) {
  if (status s = read_generations(keys, fresh, out); !s.ok()) return s;
  std::string name(value_key_base);
  append_generations(name, out);
  return get(name);
}

remote_store::remote_store(std::shared_ptr<remote_backend> backend, remote_store_options options)
    : backend_(std::move(backend)), options_(std::move(options)) {
  if (!backend_) throw std::invalid_argument("gencache: remote_store needs a backend, got null");
  if (options_.generation_cache_window.count() < 0) {
    throw std::invalid_argument(
        fmt::format("gencache: generation_cache_window must not be negative, got {}ns",
                    options_.generation_cache_window.count()));
  }
  if (options_.generation_cache_window.count() > 0 && options_.generation_cache_size == 0) {
    throw std::invalid_argument(
        "gencache: generation_cache_size must be positive when generation_cache_window is set");
  }
  // Throws std::invalid_argument, naming the prefix, if it leaves no room in the key limit.
  (void)remote_key(options_.prefix, "", "", backend_->max_key_size());
  clock_ = options_.clock ? options_.clock : steady_clock();
}

void remote_store::fail(const status& s) {
  errors_by_kind_[static_cast<std::size_t>(s.code())].increment();
  if (options_.on_error) {
    try {
      options_.on_error(s);
    } catch (...) {  // NOLINT(bugprone-empty-catch): a reporting hook must not crash a miss
    }
  }
}

result<std::string> remote_store::value_key_base(const split_key& k) const {
  const std::size_t reserved = generation_suffix_room * k.generation_count;
  const std::size_t limit = backend_->max_key_size();
  if (reserved > limit || limit - reserved < remote_key(options_.prefix, "", "", limit).size()) {
    return status(errc::too_large,
                  fmt::format("gencache: a key with {} generations does not fit {}'s {}-byte keys "
                              "with the prefix '{}'",
                              k.generation_count, backend_->location(), limit, options_.prefix));
  }
  std::string text(1, static_cast<char>(k.domain));
  if (k.domain == key_domain::memoized) {
    fmt::format_to(std::back_inserter(text), ":{:08x}",
                   static_cast<std::uint32_t>(hash_bytes(k.scope)));
  }
  text += render_key_bytes(k.parts);
  // The identity hashed is the key without its generation values (they follow in clear),
  // but with the generations' identities: two keys that name different generations never
  // share a name, whatever values their counters hold (G5).
  std::string canonical;
  canonical.reserve(2 + k.scope.size() + 12 + 8 * k.generation_count + k.parts.size());
  canonical.push_back('\x03');  // names of format 3: values carry a seal of their bytes
  canonical.push_back(static_cast<char>(k.domain));
  canonical.append(k.scope);
  fmt::format_to(std::back_inserter(canonical), "/{}/", k.generation_count);
  for (std::size_t i = 0; i < k.generation_count; ++i) {
    const std::uint64_t identity = boost::endian::native_to_little(k.identity(i));
    canonical.append(reinterpret_cast<const char*>(&identity), sizeof identity);
  }
  canonical.append(k.parts);
  return remote_key(options_.prefix, text, canonical, limit - reserved);
}

result<std::string> remote_store::value_key(key_view key) const {
  const auto k = split_cache_key(key.bytes);
  if (!k) return status(errc::protocol, "gencache: not a cache key's bytes");
  if (has_unknown(*k)) return unknown_generations();
  auto name = value_key_base(*k);
  if (!name) return name;
  for (std::size_t i = 0; i < k->generation_count; ++i) {
    fmt::format_to(std::back_inserter(name.value()), "@{}", k->generation(i));
  }
  return name;
}

std::string remote_store::generation_key(key_view id) const {
  std::string text = "g";
  text += render_key_bytes(id.bytes);
  return remote_key(options_.prefix, text, id.bytes, backend_->max_key_size());
}

result<std::optional<std::string>> remote_store::fetch(key_view key) {
  auto name = value_key(key);
  if (!name) {
    if (name.error().code() != errc::connection) fail(name.error());
    return name.error();
  }
  auto got = unsealed(name.value(), backend_->get(name.value()));
  if (!got) fail(got.error());
  return got;
}

result<std::optional<std::string>> remote_store::fetch_current(cache_key& key,
                                                               std::span<const key_view> ids) {
  const split_key k = key.split();  // the structure it was built with, not parsed back
  if (k.domain == key_domain::memoized_raw || k.generation_count != ids.size()) {
    throw std::invalid_argument("gencache: get_current needs a key with one placeholder per id");
  }
  auto base = value_key_base(k);
  if (!base) {
    fail(base.error());
    return base.error();
  }
  generation_values values(ids.size());
  const auto started = clock_->now();
  recollection how(ids.size());
  recall(ids, values, how);
  const bool all_trusted =
      std::all_of(how.begin(), how.end(), [](recalled r) { return r == recalled::trusted; });
  const bool all_known =
      std::none_of(how.begin(), how.end(), [](recalled r) { return r == recalled::no; });
  auto finish = [&](result<std::optional<std::string>> got) {
    for (std::size_t i = 0; i < ids.size(); ++i) key.set_generation(i, values[i]);
    key.finish();
    if (!got) fail(got.error());
    return got;
  };
  if (all_trusted) {
    append_generations(base.value(), values);
    return finish(unsealed(base.value(), backend_->get(base.value())));
  }
  generation_names names;
  for (const key_view id : ids) names.push_back(generation_key(id));
  if (all_known) {
    // One round trip that checks the guess; on a wrong guess, a second one below.
    std::string name = base.value();
    append_generations(name, values);
    auto guessed = backend_->get_if_current(names, values, name);
    if (!guessed) {
      std::fill(values.begin(), values.end(), unknown_generation);
      return finish(guessed.error());
    }
    if (guessed.value().current) {
      remember(ids, values, started);
      return finish(unsealed(name, std::move(guessed.value().value)));
    }
  }
  const generation_values fresh = fresh_generation_values(ids.size());
  auto got = backend_->get_current(names, fresh, values, base.value());
  if (!got) {
    std::fill(values.begin(), values.end(), unknown_generation);
    return finish(got.error());
  }
  remember(ids, values, started);
  std::string name = std::move(base.value());  // the name the server read, from the values
  append_generations(name, values);
  return finish(unsealed(name, std::move(got)));
}

status remote_store::resolve(std::span<const key_view> ids, std::span<std::uint64_t> out) {
  const auto started = clock_->now();
  recollection how(ids.size());
  recall(ids, out, how);
  generation_names names;
  boost::container::small_vector<key_view, 4> asked;
  boost::container::small_vector<std::size_t, 4> positions;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (how[i] == recalled::trusted) continue;
    names.push_back(generation_key(ids[i]));
    asked.push_back(ids[i]);
    positions.push_back(i);
  }
  if (asked.empty()) return {};
  generation_values values(asked.size());
  if (status s = backend_->read_generations(names, fresh_generation_values(asked.size()), values);
      !s.ok()) {
    fail(s);
    return s;
  }
  for (std::size_t j = 0; j < asked.size(); ++j) out[positions[j]] = values[j];
  remember(asked, values, started);
  return {};
}

bool remote_store::resolve_generations(key_request& request) {
  cache_key& key = request.key();
  const auto ids = request.ids();
  generation_values values(ids.size(), unknown_generation);
  const bool ok = resolve({ids.data(), ids.size()}, values).ok();
  if (ok) {
    for (std::size_t i = 0; i < ids.size(); ++i) key.set_generation(i, values[i]);
  }
  key.finish();
  return ok;
}

std::uint64_t remote_store::read_generation(key_view id) {
  std::uint64_t value = unknown_generation;
  return resolve({&id, 1}, {&value, 1}).ok() ? value : unknown_generation;
}

std::uint64_t remote_store::bump_generation(key_view id) {
  const auto started = clock_->now();
  auto bumped =
      backend_->bump_generation(generation_key(id), detail::next_fleet_generation_value());
  if (!bumped) {
    fail(bumped.error());
    throw store_error(
        status(bumped.error().code(),
               "gencache: invalidation not confirmed, retry it: " + bumped.error().message()));
  }
  invalidations_.increment();
  remember({&id, 1}, {&bumped.value(), 1}, started);
  return bumped.value();
}

status remote_store::store_bytes(key_view key, const std::string& bytes,
                                 std::optional<std::chrono::nanoseconds> ttl) {
  auto name = value_key(key);
  if (!name) {
    if (name.error().code() != errc::connection) fail(name.error());
    return name.error();
  }
  if (bytes.size() + seal_size > backend_->max_value_size()) {
    status s(
        errc::too_large,
        fmt::format("gencache: a value of {} bytes exceeds {}'s limit of {} bytes",
                    bytes.size() + seal_size, backend_->location(), backend_->max_value_size()));
    fail(s);
    return s;
  }
  status s = backend_->set(name.value(), sealed(name.value(), bytes), ttl);
  if (s.ok()) {
    sets_.increment();
  } else {
    fail(s);
  }
  return s;
}

bool remote_store::erase(key_view key) {
  auto name = value_key(key);
  if (!name) {
    if (name.error().code() != errc::connection) fail(name.error());
    return false;
  }
  auto erased = backend_->erase(name.value());
  if (!erased) {
    fail(erased.error());
    return false;
  }
  return erased.value();
}

void remote_store::recall(std::span<const key_view> ids, std::span<std::uint64_t> out,
                          std::span<recalled> how) {
  std::fill(how.begin(), how.end(), recalled::no);
  if (options_.generation_cache_size == 0) return;
  const auto now = clock_->now();
  const std::lock_guard lock(remembered_mutex_);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto it = remembered_.find(ids[i].bytes);
    if (it == remembered_.end()) continue;
    out[i] = it->second.value;
    how[i] = now - it->second.read_at < options_.generation_cache_window ? recalled::trusted
                                                                         : recalled::guess;
  }
}

void remote_store::remember(std::span<const key_view> ids, std::span<const std::uint64_t> values,
                            std::chrono::nanoseconds read_at) {
  if (options_.generation_cache_size == 0) return;
  const std::lock_guard lock(remembered_mutex_);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    // Values only grow on the server: a read that started before one of our own bumps and
    // ended after it must not bring the old value back. A known id is updated in place,
    // without copying its bytes.
    if (const auto it = remembered_.find(ids[i].bytes); it != remembered_.end()) {
      if (values[i] >= it->second.value) it->second = {values[i], read_at};
      continue;
    }
    if (remembered_.size() >= options_.generation_cache_size) remembered_.clear();
    remembered_.emplace(std::string(ids[i].bytes), remembered{values[i], read_at});
  }
}

store_stats remote_store::stats() const {
  store_stats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.sets = sets_.load();
  s.invalidations = invalidations_.load();
  for (std::size_t i = 0; i < errc_count; ++i) {
    s.errors_by_kind[i] = errors_by_kind_[i].load();
    s.errors += s.errors_by_kind[i];
  }
  return s;
}

}  // namespace gencache
