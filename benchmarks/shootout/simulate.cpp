#include "simulate.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/intrusive/list.hpp>

#include "gencache/detail/s3fifo.hpp"
#include "workload.hpp"

namespace shootout {

namespace {

constexpr std::uint32_t none = UINT32_MAX;

/// A doubly linked list over key numbers 0..n-1 (front = most recent), for the models.
class index_list {
 public:
  explicit index_list(std::size_t n) : prev_(n, none), next_(n, none) {}
  void push_front(std::uint32_t k) {
    prev_[k] = none;
    next_[k] = head_;
    if (head_ != none) prev_[head_] = k;
    head_ = k;
    if (tail_ == none) tail_ = k;
    ++size_;
  }
  void remove(std::uint32_t k) {
    (prev_[k] != none ? next_[prev_[k]] : head_) = next_[k];
    (next_[k] != none ? prev_[next_[k]] : tail_) = prev_[k];
    --size_;
  }
  [[nodiscard]] std::uint32_t back() const { return tail_; }
  [[nodiscard]] std::uint32_t previous(std::uint32_t k) const { return prev_[k]; }
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  std::vector<std::uint32_t> prev_, next_;
  std::uint32_t head_ = none, tail_ = none;
  std::size_t size_ = 0;
};

std::uint32_t key_count(const std::vector<std::uint32_t>& stream) {
  return stream.empty() ? 0 : *std::max_element(stream.begin(), stream.end()) + 1;
}

std::uint64_t lru(const std::vector<std::uint32_t>& stream, std::uint64_t capacity) {
  const std::uint32_t n = key_count(stream);
  index_list list(n);
  std::vector<bool> resident(n);
  std::uint64_t hits = 0;
  for (const std::uint32_t k : stream) {
    if (resident[k]) {
      ++hits;
      list.remove(k);
    } else if (list.size() == capacity) {
      const std::uint32_t victim = list.back();
      list.remove(victim);
      resident[victim] = false;
    }
    list.push_front(k);
    resident[k] = true;
  }
  return hits;
}

/// SIEVE (Zhang et al., NSDI '24): a FIFO with a visited bit; a hand walks from the tail
/// towards the head, clearing visited bits, and evicts the first unvisited entry.
std::uint64_t sieve(const std::vector<std::uint32_t>& stream, std::uint64_t capacity) {
  const std::uint32_t n = key_count(stream);
  index_list list(n);
  std::vector<bool> resident(n), visited(n);
  std::uint32_t hand = none;
  std::uint64_t hits = 0;
  for (const std::uint32_t k : stream) {
    if (resident[k]) {
      ++hits;
      visited[k] = true;
      continue;
    }
    if (list.size() == capacity) {
      std::uint32_t at = hand != none ? hand : list.back();
      while (visited[at]) {
        visited[at] = false;
        at = list.previous(at) != none ? list.previous(at) : list.back();
      }
      hand = list.previous(at);
      list.remove(at);
      resident[at] = false;
    }
    list.push_front(k);
    resident[k] = true;
    visited[k] = false;
  }
  return hits;
}

/// A W-TinyLFU model after Caffeine's design notes: a 1 % LRU window before a segmented LRU
/// main space (20 % probation, 80 % protected); a window victim enters the main space only
/// if a 4-bit count-min sketch (4 rows, halved every 10 × capacity increments) says it is
/// more frequent than the main space's victim. Caffeine also adapts the window size by hill
/// climbing; this model keeps it fixed.
class tinylfu_model {
 public:
  tinylfu_model(std::uint32_t n, std::uint64_t capacity)
      : window_cap_(std::max<std::uint64_t>(1, capacity / 100)),
        protected_cap_((capacity - window_cap_) * 8 / 10),
        main_cap_(capacity - window_cap_),
        window_(n),
        probation_(n),
        protected_(n),
        where_(n, 0),
        width_(4 * std::bit_ceil(std::max<std::uint64_t>(capacity, 64))),
        counters_(4 * width_, 0),
        reset_at_(10 * capacity) {}

  bool access(std::uint32_t k) {
    count(k);
    switch (where_[k]) {
      case 1:
        window_.remove(k);
        window_.push_front(k);
        return true;
      case 2:
        probation_.remove(k);
        promote(k);
        return true;
      case 3:
        protected_.remove(k);
        protected_.push_front(k);
        return true;
      default:
        break;
    }
    window_.push_front(k);
    where_[k] = 1;
    if (window_.size() > window_cap_) {
      const std::uint32_t candidate = window_.back();
      window_.remove(candidate);
      where_[candidate] = 0;
      admit(candidate);
    }
    return false;
  }

 private:
  void promote(std::uint32_t k) {
    protected_.push_front(k);
    where_[k] = 3;
    if (protected_.size() > protected_cap_) {
      const std::uint32_t demoted = protected_.back();
      protected_.remove(demoted);
      probation_.push_front(demoted);
      where_[demoted] = 2;
    }
  }
  void admit(std::uint32_t candidate) {
    if (probation_.size() + protected_.size() < main_cap_) {
      probation_.push_front(candidate);
      where_[candidate] = 2;
      return;
    }
    if (main_cap_ == 0) return;  // capacity 1: the window is all there is
    const std::uint32_t victim = probation_.size() != 0 ? probation_.back() : protected_.back();
    if (frequency(candidate) <= frequency(victim)) return;  // the candidate is dropped
    (where_[victim] == 2 ? probation_ : protected_).remove(victim);
    where_[victim] = 0;
    probation_.push_front(candidate);
    where_[candidate] = 2;
  }
  [[nodiscard]] std::uint64_t slot(std::uint32_t k, int row) const {
    std::uint64_t h = (std::uint64_t{k} + 1) * 0x9E3779B97F4A7C15ull;
    h ^= h >> (17 + 7 * row);
    h *= 0xBF58476D1CE4E5B9ull + 2ull * static_cast<std::uint64_t>(row);
    return static_cast<std::uint64_t>(row) * width_ + ((h >> 29) & (width_ - 1));
  }
  void count(std::uint32_t k) {
    for (int row = 0; row < 4; ++row) {
      std::uint8_t& c = counters_[slot(k, row)];
      if (c < 15) ++c;
    }
    if (++increments_ == reset_at_) {
      for (std::uint8_t& c : counters_) c /= 2;
      increments_ /= 2;
    }
  }
  [[nodiscard]] std::uint8_t frequency(std::uint32_t k) const {
    std::uint8_t f = 15;
    for (int row = 0; row < 4; ++row) f = std::min(f, counters_[slot(k, row)]);
    return f;
  }

  std::uint64_t window_cap_, protected_cap_, main_cap_;
  index_list window_, probation_, protected_;
  std::vector<std::uint8_t> where_;  // 0 absent, 1 window, 2 probation, 3 protected
  std::uint64_t width_;
  std::vector<std::uint8_t> counters_;
  std::uint64_t reset_at_;
  std::uint64_t increments_ = 0;
};

/// The memory store's own S3-FIFO (gencache/detail/s3fifo.hpp) over entries of weight 1.
std::uint64_t s3fifo(const std::vector<std::uint32_t>& stream, std::uint64_t capacity) {
  using hook = boost::intrusive::list_base_hook<>;
  struct entry : hook, gencache::detail::s3fifo_entry_state {
    std::uint64_t hash = 0;
    [[nodiscard]] static std::size_t weight() noexcept { return 1; }
    bool resident = false;
  };
  using list = boost::intrusive::list<entry>;
  const std::uint32_t n = key_count(stream);
  std::vector<entry> entries(n);
  for (std::uint32_t k = 0; k < n; ++k) entries[k].hash = k;
  gencache::detail::s3fifo<entry, list> policy;
  std::uint64_t resident = 0, hits = 0;
  for (const std::uint32_t k : stream) {
    entry& e = entries[k];
    if (e.resident) {
      ++hits;
      gencache::detail::s3fifo<entry, list>::hit(e);
      continue;
    }
    policy.insert(e);
    e.resident = true;
    if (++resident > capacity) {
      entry& victim = policy.evict(capacity, capacity);
      victim.resident = false;
      --resident;
    }
  }
  list rest;
  policy.take_all(rest);
  rest.clear();
  return hits;
}

/// The best fixed set of `capacity` keys: the most frequent ones, always cached.
std::uint64_t optimum(const std::vector<std::uint32_t>& stream, std::uint64_t capacity) {
  std::vector<std::uint64_t> counts(key_count(stream), 0);
  for (const std::uint32_t k : stream) ++counts[k];
  const auto top = std::min<std::size_t>(capacity, counts.size());
  std::partial_sort(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(top), counts.end(),
                    std::greater<>());
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < top; ++i) hits += counts[i];
  return hits;
}

/// Belady's MIN for keys of one size: on a miss with the cache full, of the cached keys and
/// the requested one, the one used again furthest in the future leaves (or is never
/// admitted). No policy that knows only the past can hit more often.
std::uint64_t belady(const std::vector<std::uint32_t>& stream, std::uint64_t capacity) {
  constexpr std::uint32_t never = UINT32_MAX;  // not requested again
  std::vector<std::uint32_t> next_use(stream.size(), never);
  std::vector<std::uint32_t> seen(key_count(stream), never);
  for (std::size_t i = stream.size(); i-- > 0;) {
    next_use[i] = seen[stream[i]];
    seen[stream[i]] = static_cast<std::uint32_t>(i);
  }
  // The cached keys by their next use; `cached_until[k]` is k's entry (never: not cached).
  std::set<std::pair<std::uint32_t, std::uint32_t>> cached;
  std::vector<std::uint32_t>& cached_until = seen;
  std::fill(cached_until.begin(), cached_until.end(), never);
  std::vector<bool> resident(cached_until.size());
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    const std::uint32_t k = stream[i];
    if (resident[k]) {
      ++hits;
      cached.erase({cached_until[k], k});
    } else if (cached.size() >= capacity) {
      const auto furthest = std::prev(cached.end());
      if (furthest->first <= next_use[i]) continue;  // k itself is used furthest: bypass
      resident[furthest->second] = false;
      cached.erase(furthest);
    }
    resident[k] = true;
    cached_until[k] = next_use[i];
    cached.emplace(next_use[i], k);
  }
  return hits;
}

// Key numbers and stream positions stay below UINT32_MAX, which the models use as "none".
constexpr std::size_t max_keys = UINT32_MAX - 1;
constexpr std::size_t max_requests = UINT32_MAX - 1;

/// Numbers keys 0, 1, 2... in order of first appearance.
class key_numbering {
 public:
  std::uint32_t operator()(std::uint64_t key) {
    const auto [it, added] = numbers_.try_emplace(key, static_cast<std::uint32_t>(numbers_.size()));
    if (added && numbers_.size() >= max_keys) {
      throw std::runtime_error("the trace has too many distinct keys (at most 2^32 - 2)");
    }
    return it->second;
  }

 private:
  std::unordered_map<std::uint64_t, std::uint32_t> numbers_;
};

/// A trace of one key per line, any text (LIRS traces: one block number per line; a line
/// holding only `*` is a LIRS checkpoint, not a request).
std::vector<std::uint32_t> read_lines(std::istream& in) {
  std::vector<std::uint32_t> stream;
  std::unordered_map<std::string, std::uint32_t> numbers;
  for (std::string line; std::getline(in, line);) {
    if (line.ends_with('\r')) line.pop_back();  // CRLF files
    if (line.empty() || line == "*") continue;
    const auto [it, added] = numbers.try_emplace(line, static_cast<std::uint32_t>(numbers.size()));
    if (added && numbers.size() >= max_keys) {
      throw std::runtime_error("the trace has too many distinct keys (at most 2^32 - 2)");
    }
    if (stream.size() == max_requests) throw std::runtime_error("more than 2^32 - 2 requests");
    stream.push_back(it->second);
  }
  return stream;
}

/// ARC's `.lis` traces (Megiddo and Modha): `start count ignored request-number` per line,
/// a request for `count` consecutive blocks from `start`.
std::vector<std::uint32_t> read_lis(std::istream& in, const std::string& file) {
  std::vector<std::uint32_t> stream;
  key_numbering number;
  std::uint64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.ends_with('\r')) line.pop_back();  // CRLF files
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string start_text, count_text;
    std::uint64_t start = 0, count = 0;
    const auto whole_number = [](const std::string& text, std::uint64_t& value) {
      const char* end = text.data() + text.size();
      const auto [ptr, ec] = std::from_chars(text.data(), end, value);  // no sign accepted
      return ec == std::errc{} && ptr == end;
    };
    if (!(fields >> start_text >> count_text) || !whole_number(start_text, start) ||
        !whole_number(count_text, count) || count > UINT64_MAX - start) {
      throw std::runtime_error(fmt::format(
          "{}:{}: not a .lis line (start count ignored request-number)", file, line_number));
    }
    if (count > max_requests - stream.size()) {
      throw std::runtime_error(
          fmt::format("{}:{}: more than 2^32 - 2 requests", file, line_number));
    }
    for (std::uint64_t b = 0; b < count; ++b) stream.push_back(number(start + b));
  }
  return stream;
}

/// libCacheSim's `oracleGeneral` binary traces: packed little-endian records of a 32-bit
/// time, a 64-bit object id, a 32-bit size and a 64-bit next access; only the id is used.
std::vector<std::uint32_t> read_oracle_general(std::istream& in, const std::string& file) {
  constexpr std::size_t record = 24;
  std::vector<std::uint32_t> stream;
  key_numbering number;
  char bytes[record];
  while (in.read(bytes, record)) {
    std::uint64_t id = 0;
    for (int i = 7; i >= 0; --i) id = id << 8 | static_cast<unsigned char>(bytes[4 + i]);
    if (stream.size() == max_requests) {
      throw std::runtime_error(fmt::format("{}: more than 2^32 - 2 requests", file));
    }
    stream.push_back(number(id));
  }
  if (in.gcount() != 0) {
    throw std::runtime_error(fmt::format(
        "{}: {} bytes after the last whole 24-byte oracleGeneral record", file, in.gcount()));
  }
  return stream;
}

}  // namespace

std::vector<std::uint32_t> make_stream(const simulation& s) {
  std::vector<std::uint32_t> stream;
  if (!s.trace_file.empty()) {
    std::ifstream in(s.trace_file, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read trace file {}", s.trace_file));
    if (s.trace_format == "lis") {
      stream = read_lis(in, s.trace_file);
    } else if (s.trace_format == "oracle-general") {
      stream = read_oracle_general(in, s.trace_file);
    } else if (s.trace_format == "lines") {
      stream = read_lines(in);
    } else {
      throw std::invalid_argument(
          fmt::format("unknown trace format '{}' (lines, lis, oracle-general)", s.trace_format));
    }
    if (stream.empty()) throw std::runtime_error(fmt::format("{} holds no requests", s.trace_file));
    return stream;
  }
  zipf_distribution zipf(s.keys, s.zipf_s);
  std::mt19937_64 rng(s.seed);
  // Ranks are scattered over the key numbers, so that a key's number says nothing of its
  // popularity (no policy may profit from key order).
  std::vector<std::uint32_t> key_of(s.keys);
  for (std::uint32_t k = 0; k < s.keys; ++k) key_of[k] = k;
  std::shuffle(key_of.begin(), key_of.end(), rng);
  stream.reserve(s.requests);
  const std::uint64_t scan = std::max<std::uint64_t>(1, s.keys / 10);
  std::uint64_t next_cold = s.keys;
  while (stream.size() < s.requests) {
    for (std::uint64_t i = 0; i < 9 * scan && stream.size() < s.requests; ++i) {
      stream.push_back(key_of[zipf(rng) - 1]);
    }
    if (!s.scans) continue;
    for (std::uint64_t i = 0; i < scan && stream.size() < s.requests; ++i) {
      if (next_cold == UINT32_MAX) throw std::invalid_argument("too many requests for --scans");
      stream.push_back(static_cast<std::uint32_t>(next_cold++));
    }
  }
  return stream;
}

void write_trace(const std::vector<std::uint32_t>& stream, const std::string& file) {
  if (file.empty()) return;
  std::ofstream out(file);
  for (const std::uint32_t k : stream) out << k << '\n';
  if (!out.flush()) throw std::runtime_error(fmt::format("cannot write trace file {}", file));
}

policy_result replay(const std::string& policy, const std::vector<std::uint32_t>& stream,
                     std::uint64_t capacity) {
  policy_result r{policy, 0, stream.size()};
  if (policy == "lru") {
    r.hits = lru(stream, capacity);
  } else if (policy == "sieve") {
    r.hits = sieve(stream, capacity);
  } else if (policy == "tinylfu") {
    tinylfu_model model(key_count(stream), capacity);
    for (const std::uint32_t k : stream) r.hits += model.access(k);
  } else if (policy == "s3fifo") {
    r.hits = s3fifo(stream, capacity);
  } else if (policy == "optimum") {
    r.hits = optimum(stream, capacity);
  } else if (policy == "belady") {
    r.hits = belady(stream, capacity);
  } else {
    throw std::invalid_argument(
        fmt::format("unknown policy '{}' (lru, sieve, tinylfu, s3fifo, optimum, belady)", policy));
  }
  return r;
}

int run_simulation(int argc, const char* const* argv) {
  simulation s;
  CLI::App app(
      "gencache-bench simulate: replays a key stream against eviction policies at one "
      "capacity and prints each hit ratio, with the static optimum (the most frequent "
      "`capacity` keys cached from the start, so their first requests count as hits) and "
      "Belady's optimum (MIN: what no policy that knows only the past can beat). s3fifo is "
      "the memory store's own policy code; the others are models. A miss inserts its key; "
      "every key weighs 1.",
      "gencache-bench simulate");
  app.add_option("--policy", s.policies, "Policies: lru, sieve, tinylfu, s3fifo")
      ->delimiter(',')
      ->check(CLI::IsMember({"lru", "sieve", "tinylfu", "s3fifo"}))
      ->capture_default_str();
  app.add_option("--keys", s.keys, "Distinct keys of the Zipf stream")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 31))
      ->capture_default_str();
  app.add_option("--capacity", s.capacity, "Entries the cache holds")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 31))
      ->capture_default_str();
  app.add_option("--zipf-s", s.zipf_s, "Zipf exponent")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  app.add_option("--requests", s.requests, "Zipf draws")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{UINT32_MAX - 1}))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Seed of the Zipf stream")->capture_default_str();
  app.add_flag("--scans", s.scans,
               "As the shoot-out's scan-mix: after every 9L draws, one pass over L keys never "
               "seen before (L = keys/10)");
  app.add_option("--trace", s.trace_file, "Replay this trace file instead of Zipf draws")
      ->check(CLI::ExistingFile);
  app.add_option("--trace-format", s.trace_format,
                 "lines (one key per line, any text; LIRS traces), lis (ARC's traces: start "
                 "count ignored request-number), oracle-general (libCacheSim's binary records)")
      ->check(CLI::IsMember({"lines", "lis", "oracle-general"}))
      ->capture_default_str();
  app.add_option("--capacity-fraction", s.capacity_fraction,
                 "Instead of --capacity: this fraction, in (0, 1], of the stream's key numbers (a "
                 "trace's distinct keys; --keys for Zipf draws), at least 1")
      ->check([](const std::string& text) {
        double f = 0;
        try {
          f = std::stod(text);
        } catch (const std::exception&) {
          return std::string("not a number");
        }
        return f > 0 && f <= 1 ? std::string() : std::string("must be in (0, 1]");
      })
      ->excludes("--capacity");
  app.add_option("--write-trace", s.write_trace_file,
                 "Also write the stream to this file, one key per line, so that another "
                 "cache (benchmarks/peers/CaffeineReplay.java) replays the same requests");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const auto started = std::chrono::steady_clock::now();
  const std::vector<std::uint32_t> stream = make_stream(s);
  if (s.capacity_fraction > 0) {
    s.capacity = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(s.capacity_fraction * key_count(stream)));
  }
  write_trace(stream, s.write_trace_file);
  fmt::print("stream: {} requests, {} keys{}, capacity {}\n", stream.size(), key_count(stream),
             s.trace_file.empty() ? fmt::format(", Zipf s={}, seed {}{}", s.zipf_s, s.seed,
                                                s.scans ? ", with scans" : "")
                                  : fmt::format(" from {}", s.trace_file),
             s.capacity);
  fmt::print("| policy | hit ratio |\n|---|---:|\n");
  std::vector<std::string> policies = s.policies;
  policies.emplace_back("optimum");
  policies.emplace_back("belady");
  for (const std::string& p : policies) {
    const policy_result r = replay(p, stream, s.capacity);
    fmt::print("| {} | {:.4f} |\n",
               p == "optimum"  ? "static optimum"
               : p == "belady" ? "belady optimum"
                               : p,
               r.hit_ratio());
    std::fflush(stdout);
  }
  fmt::print("({:.1f} s)\n",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return 0;
}

}  // namespace shootout
