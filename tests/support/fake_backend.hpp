#pragma once
// An in-process `remote_backend`: a map of names to bytes that behaves like a server
// (counters are decimal text, created and bumped atomically, values expire), so that
// `remote_store`'s own logic — names, the codec, guesses, unknown generations, failure
// counting — runs in every preset without a server. Shared by several stores, it is one
// server seen by several processes.
//
// Faults, injected by the test: fail the next N calls (or every call), forget a name (a
// counter evicted or flushed behind gencache's back), corrupt the bytes under a name.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <gencache/remote_store.hpp>

namespace test {

class fake_backend final : public gencache::remote_backend {
 public:
  explicit fake_backend(std::size_t max_key_size = 250,
                        std::size_t max_value_size = std::size_t{4} << 20)
      : max_key_size_(max_key_size), max_value_size_(max_value_size) {}

  const std::string& location() const noexcept override { return location_; }
  std::size_t max_key_size() const noexcept override { return max_key_size_; }
  std::size_t max_value_size() const noexcept override { return max_value_size_; }

  gencache::result<std::optional<std::string>> get(std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto s = injected_failure(); !s.ok()) return s;
    return find(key);
  }

  gencache::status set(std::string_view key, std::string_view value,
                       std::optional<std::chrono::nanoseconds> ttl) override {
    std::lock_guard lock(mutex_);
    if (auto s = injected_failure(); !s.ok()) return s;
    if (value.size() > max_value_size_) {
      return {gencache::errc::too_large,
              fmt::format("{}: value of {} bytes", location_, value.size())};
    }
    std::optional<clock::time_point> expires;
    // A ttl past a century is no expiry (the real servers clamp similarly).
    if (ttl && *ttl < std::chrono::hours(24 * 365 * 100)) expires = clock::now() + *ttl;
    data_.insert_or_assign(std::string(key), entry{std::string(value), expires});
    return {};
  }

  gencache::result<bool> erase(std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto s = injected_failure(); !s.ok()) return s;
    return data_.erase(std::string(key)) > 0;
  }

  gencache::status read_generations(std::span<const std::string> keys,
                                    std::span<const std::uint64_t> fresh,
                                    std::span<std::uint64_t> out) override {
    std::lock_guard lock(mutex_);
    if (auto s = injected_failure(); !s.ok()) return s;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto value = find(keys[i]);
      if (!value) {
        data_.insert_or_assign(keys[i], entry{std::to_string(fresh[i]), std::nullopt});
        out[i] = fresh[i];
        continue;
      }
      const auto parsed = gencache::detail::parse_generation_text(*value);
      if (!parsed) return gencache::detail::foreign_counter(location_, keys[i], *value);
      out[i] = *parsed;
    }
    return {};
  }

  gencache::result<std::uint64_t> bump_generation(std::string_view key,
                                                  std::uint64_t fresh) override {
    std::lock_guard lock(mutex_);
    if (auto s = injected_failure(); !s.ok()) return s;
    std::uint64_t next = fresh;
    if (auto value = find(key)) {
      const auto parsed = gencache::detail::parse_generation_text(*value);
      if (!parsed) return gencache::detail::foreign_counter(location_, key, *value);
      next = *parsed + 1;
    }
    data_.insert_or_assign(std::string(key), entry{std::to_string(next), std::nullopt});
    return next;
  }

  gencache::result<guarded_value> get_if_current(std::span<const std::string> keys,
                                                 std::span<const std::uint64_t> expected,
                                                 std::string_view name) override {
    std::lock_guard lock(mutex_);
    if (auto s = injected_failure(); !s.ok()) return s;
    guarded_value out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto value = find(keys[i]);
      if (!value || gencache::detail::parse_generation_text(*value) != expected[i]) return out;
    }
    out.current = true;
    out.value = find(name);
    return out;
  }

  // Faults.

  /// The next `calls` calls fail with `code`, without touching the data.
  void fail_next(std::size_t calls, gencache::errc code = gencache::errc::connection) {
    std::lock_guard lock(mutex_);
    failing_calls_ = calls;
    failure_ = code;
  }
  /// Every call fails (an unreachable server) until called with false.
  void fail_always(bool on, gencache::errc code = gencache::errc::connection) {
    std::lock_guard lock(mutex_);
    fail_always_ = on;
    failure_ = code;
  }
  /// Removes `name`, as an eviction or a flush would; true if it was there.
  bool forget(std::string_view name) {
    std::lock_guard lock(mutex_);
    return data_.erase(std::string(name)) > 0;
  }
  /// Flips the last byte under `name`; false if there is nothing there.
  bool corrupt(std::string_view name) {
    std::lock_guard lock(mutex_);
    const auto it = data_.find(std::string(name));
    if (it == data_.end() || it->second.bytes.empty()) return false;
    it->second.bytes.back() = static_cast<char>(it->second.bytes.back() ^ 0x5a);
    return true;
  }
  /// Calls made so far, failed ones included.
  [[nodiscard]] std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::string bytes;
    std::optional<clock::time_point> expires;
  };

  /// Counts the call; the failure to report, if one is injected.
  gencache::status injected_failure() {
    ++calls_;
    if (fail_always_ || failing_calls_ > 0) {
      if (failing_calls_ > 0) --failing_calls_;
      return {failure_,
              fmt::format("{}: injected {} failure", location_, gencache::to_string(failure_))};
    }
    return {};
  }
  std::optional<std::string> find(std::string_view key) {
    const auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::nullopt;
    if (it->second.expires && clock::now() >= *it->second.expires) {
      data_.erase(it);
      return std::nullopt;
    }
    return it->second.bytes;
  }

  const std::string location_ = "fake://in-process";
  const std::size_t max_key_size_;
  const std::size_t max_value_size_;
  mutable std::mutex mutex_;
  std::map<std::string, entry, std::less<>> data_;
  std::size_t calls_ = 0;
  std::size_t failing_calls_ = 0;
  bool fail_always_ = false;
  gencache::errc failure_ = gencache::errc::connection;
};

}  // namespace test
