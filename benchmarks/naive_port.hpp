#pragma once
// The naive port: what a line-by-line translation of hscacheutils to C++ does, kept as the
// baseline gencache must beat. One std::mutex, std::unordered_map<std::string, ...> with a
// std::list LRU, keys formatted with fmt, generation counters stored as entries of the same
// map and looked up by formatted name on every call.
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

namespace bench {

template <class Value = std::uint64_t>
class naive_port {
 public:
  explicit naive_port(std::size_t capacity) : capacity_(capacity) {}

  std::optional<Value> get(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second.position);
    return it->second.value;
  }
  void set(const std::string& key, Value value) {
    std::lock_guard lock(mutex_);
    set_locked(key, {}, std::move(value));
  }
  /// The generation's counter, created from the clock if absent (as the seed does).
  std::uint64_t generation(const std::string& name) {
    std::lock_guard lock(mutex_);
    const auto it = map_.find(name);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.position);
      return it->second.counter;
    }
    const auto now =
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    set_locked(name, now, {});
    return now;
  }
  void invalidate(const std::string& name) {
    std::lock_guard lock(mutex_);
    const auto it = map_.find(name);
    const auto now =
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    set_locked(name, it == map_.end() ? now : it->second.counter + 1, {});
  }
  [[nodiscard]] std::size_t size() {
    std::lock_guard lock(mutex_);
    return map_.size();
  }

 private:
  struct entry {
    std::uint64_t counter;  // a generation's entry
    Value value;            // a cached value's entry
    std::list<std::string>::iterator position;
  };
  void set_locked(const std::string& key, std::uint64_t counter, Value value) {
    if (const auto it = map_.find(key); it != map_.end()) {
      it->second.counter = counter;
      it->second.value = std::move(value);
      lru_.splice(lru_.begin(), lru_, it->second.position);
      return;
    }
    lru_.push_front(key);
    map_.emplace(key, entry{counter, std::move(value), lru_.begin()});
    if (map_.size() > capacity_) {
      map_.erase(lru_.back());
      lru_.pop_back();
    }
  }

  std::mutex mutex_;
  std::unordered_map<std::string, entry> map_;
  std::list<std::string> lru_;
  std::size_t capacity_;
};

/// A memoized call through the naive port: read both generations, format the key the way
/// the seed does ("[cached]module.func:line(args){fields} gens"), look it up.
template <class Compute>
std::uint64_t naive_memoized_call(naive_port<>& port, int user_id, int page, Compute&& compute) {
  const std::uint64_t project = port.generation("project");
  const std::uint64_t nav = port.generation(fmt::format("nav_portal:{}", user_id));
  const std::string key = fmt::format(
      "[cached]bench.render_nav:42([]{{'page': {}, 'user_id': {}}}) project:{} nav_portal:{}", page,
      user_id, project, nav);
  if (auto hit = port.get(key)) return *hit;
  const std::uint64_t value = compute(user_id, page);
  port.set(key, value);
  return value;
}

}  // namespace bench
