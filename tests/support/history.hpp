#pragma once
// A concurrency history and its checker (tests/history_test.cpp). Threads record what they
// did between two ticks of one logical clock; the checker then verifies, on the merged
// history:
//
// - G5: every value a read returned is one that a write (or a computation) really produced
//   for exactly that key: same slot, same user and partner (whose generations the key names,
//   in that order), same generation values;
// - G1: no read returns a value stored under a generation value older than the value an
//   invalidation produced, if that invalidation completed (its end tick) before the read
//   began (its begin tick).
//
// Ticks come from one seq_cst counter, taken before an operation starts and after it returns,
// so `a.end < b.begin` means that `a` returned before `b` began, in real time.
//
// - no lost write: a direct read that misses although a write of its key completed before it
//   began, with no invalidation of the key's generations since that write began (so the read
//   built the same key), is a lost write (the stores here never evict or expire entries),
//   unless the store reported a failure during the read;
//
// Memoized values do not carry the generation values of their key (the function cannot see
// them), so for them the checker verifies what G1 implies together with G3 (keys are built
// before the computation starts): a memoized read that begins after an invalidation
// completed returns a value whose computation began after that invalidation began.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace test::history {

/// A direct write's value: the generation values of its key, and who wrote it. A direct
/// key names three generations: "g", then "h:user" for `user`, then "h:user" for `partner`
/// (which may be `user` again), so keys differ in which generations they name and in
/// their order, and a request often creates two counters at once.
struct stamp {
  std::uint64_t generation;          // of the plain generation "g"
  std::uint64_t user_generation;     // of the value-based generation "h:user" for `user`
  std::uint64_t partner_generation;  // of "h:user" for `partner`
  std::uint32_t slot;
  std::uint32_t user;
  std::uint32_t partner;
  std::uint64_t write_id;
};

/// A memoized value: which computation produced it.
struct computed {
  std::uint64_t compute_id;
  std::uint32_t slot;
  std::uint32_t user;
};

struct write_event {
  stamp value;
  std::uint64_t begin = 0, end = 0;  // from building the key to the set's return
  bool stored = true;                // the set returned ok
};
struct compute_event {
  std::uint64_t begin;
  computed value;
};
struct read_event {
  std::uint64_t begin, end;
  std::uint32_t slot, user, partner;  // partner: direct reads only
  bool memoized;
  std::optional<stamp> direct;   // what a direct get returned
  std::optional<computed> memo;  // what a memoized call returned (always a value)
  bool failed = false;           // the store reported a failure during the read
};
/// `generation` is 0 for the plain "g", 1 + user for "h:user". An invalidation that threw
/// `store_error` is not confirmed: it may have taken effect at any time after it began, or
/// never. It is recorded with `unconfirmed()`: it never completes (so no read must see it),
/// but it overlaps every read that ends after it began (so a miss there is not a lost write).
struct invalidate_event {
  std::uint64_t begin, end;
  std::uint32_t generation;
  std::uint64_t new_value;

  static invalidate_event unconfirmed(std::uint64_t begin, std::uint32_t generation) {
    return {begin, UINT64_MAX, generation, 0};
  }
  [[nodiscard]] bool confirmed() const noexcept { return end != UINT64_MAX; }
};

/// What one thread did; merged by `checker`.
struct thread_log {
  std::vector<write_event> writes;
  std::vector<read_event> reads;
  std::vector<invalidate_event> invalidations;
};

class clock {
 public:
  std::uint64_t tick() noexcept { return now_.fetch_add(1, std::memory_order_seq_cst); }

 private:
  std::atomic<std::uint64_t> now_{1};
};

/// Computations are recorded by the memoized function, on whatever thread runs it.
class compute_log {
 public:
  computed record(std::uint64_t begin, std::uint32_t slot, std::uint32_t user) {
    std::lock_guard lock(mutex_);
    const computed c{events_.size() + 1, slot, user};
    events_.push_back({begin, c});
    return c;
  }
  [[nodiscard]] const std::vector<compute_event>& events() const { return events_; }

 private:
  std::mutex mutex_;
  std::vector<compute_event> events_;
};

struct verdict {
  std::uint64_t reads = 0, hits = 0, memo_reads = 0, invalidations = 0, writes = 0;
  std::uint64_t unconfirmed = 0;        // invalidations that threw store_error
  std::uint64_t memo_hits = 0;          // filled in by the caller
  std::vector<std::string> violations;  // the first few, described
  std::uint64_t stale = 0;              // G1 violations
  std::uint64_t foreign = 0;            // values never stored for that key
  std::uint64_t lost = 0;               // misses that a completed write rules out
  std::uint64_t must_hit = 0;           // direct reads that the no-lost-write rule covered
};

/// Checks a merged history. O((R + I) log I) for R reads and I invalidations.
inline verdict check(const std::vector<thread_log>& logs,
                     const std::vector<compute_event>& computes, std::uint32_t users) {
  verdict v;
  std::unordered_map<std::uint64_t, stamp> writes;
  // Per generation: invalidations by end tick, with running maxima of new value and begin.
  struct completed {
    std::uint64_t end, max_new_value, max_begin;
  };
  std::vector<std::vector<invalidate_event>> by_generation(users + 1);
  for (const auto& log : logs) {
    for (const auto& w : log.writes) writes.emplace(w.value.write_id, w.value);
    for (const auto& i : log.invalidations) by_generation.at(i.generation).push_back(i);
    v.writes += log.writes.size();
    for (const auto& i : log.invalidations) (i.confirmed() ? v.invalidations : v.unconfirmed) += 1;
  }
  std::vector<std::vector<completed>> floors(users + 1);
  for (std::size_t g = 0; g < by_generation.size(); ++g) {
    auto& events = by_generation[g];
    std::sort(events.begin(), events.end(),
              [](const auto& a, const auto& b) { return a.end < b.end; });
    std::uint64_t max_value = 0, max_begin = 0;
    for (const auto& e : events) {
      if (!e.confirmed()) break;  // sorted last; they never complete
      max_value = std::max(max_value, e.new_value);
      max_begin = std::max(max_begin, e.begin);
      floors[g].push_back({e.end, max_value, max_begin});
    }
  }
  // Per generation, invalidations by end tick with the suffix minimum of their begin: "did
  // any invalidation of g overlap [from, to]" is one binary search.
  std::vector<std::vector<std::uint64_t>> later_begin(users + 1);
  for (std::size_t g = 0; g < by_generation.size(); ++g) {
    const auto& events = by_generation[g];
    auto& mins = later_begin[g];
    mins.resize(events.size() + 1, UINT64_MAX);
    for (std::size_t i = events.size(); i-- > 0;) mins[i] = std::min(mins[i + 1], events[i].begin);
  }
  auto invalidated_between = [&](std::uint32_t g, std::uint64_t from, std::uint64_t to) {
    const auto& events = by_generation[g];
    const auto first = std::upper_bound(events.begin(), events.end(), from,
                                        [](std::uint64_t t, const auto& e) { return t < e.end; });
    return later_begin[g][static_cast<std::size_t>(first - events.begin())] < to;
  };
  // Completed writes per key (slot, user, partner), by end tick.
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, std::vector<write_event>>
      writes_of;
  for (const auto& log : logs) {
    for (const auto& w : log.writes) {
      if (w.stored) writes_of[{w.value.slot, w.value.user, w.value.partner}].push_back(w);
    }
  }
  for (auto& [key, list] : writes_of) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.end < b.end; });
  }

  // The floor of generation g for a read that began at `begin`: the maxima over the
  // invalidations that had completed by then.
  auto floor_of = [&](std::uint32_t g, std::uint64_t begin) -> completed {
    const auto& f = floors[g];
    auto it = std::lower_bound(f.begin(), f.end(), begin,
                               [](const completed& c, std::uint64_t t) { return c.end < t; });
    return it == f.begin() ? completed{0, 0, 0} : *std::prev(it);
  };
  auto violation = [&v](std::string text) {
    if (v.violations.size() < 10) v.violations.push_back(std::move(text));
  };

  for (const auto& log : logs) {
    for (const auto& r : log.reads) {
      ++v.reads;
      const completed plain = floor_of(0, r.begin);
      const completed per_user = floor_of(1 + r.user, r.begin);
      if (!r.memoized) {
        // The last write of this key that completed before the read began, if no
        // invalidation of the key's generations overlapped [its begin, the read's end].
        const write_event* must = nullptr;
        if (const auto it = writes_of.find({r.slot, r.user, r.partner}); it != writes_of.end()) {
          const auto& list = it->second;
          const auto done =
              std::lower_bound(list.begin(), list.end(), r.begin,
                               [](const auto& w, std::uint64_t t) { return w.end < t; });
          if (done != list.begin()) {
            const write_event& w = *std::prev(done);
            if (!invalidated_between(0, w.begin, r.end) &&
                !invalidated_between(1 + r.user, w.begin, r.end) &&
                !invalidated_between(1 + r.partner, w.begin, r.end)) {
              must = &w;
              ++v.must_hit;
            }
          }
        }
        if (!r.direct) {
          if (must != nullptr && !r.failed) {
            ++v.lost;
            violation(fmt::format(
                "read [{}, {}] of slot {} users ({}, {}) missed write {} [{}, {}]", r.begin, r.end,
                r.slot, r.user, r.partner, must->value.write_id, must->begin, must->end));
          }
          continue;
        }
        ++v.hits;
        const completed per_partner = floor_of(1 + r.partner, r.begin);
        const stamp& s = *r.direct;
        const auto w = writes.find(s.write_id);
        if (w == writes.end() || w->second.slot != r.slot || w->second.user != r.user ||
            w->second.partner != r.partner || s.slot != r.slot || s.user != r.user ||
            s.partner != r.partner || w->second.generation != s.generation ||
            w->second.user_generation != s.user_generation ||
            w->second.partner_generation != s.partner_generation) {
          ++v.foreign;
          violation(
              fmt::format("read of slot {} users ({}, {}) returned write {}, never stored there",
                          r.slot, r.user, r.partner, s.write_id));
        }
        if (s.generation < plain.max_new_value || s.user_generation < per_user.max_new_value ||
            s.partner_generation < per_partner.max_new_value) {
          ++v.stale;
          violation(fmt::format(
              "read [{}, {}] of slot {} users ({}, {}) returned generations ({}, {}, {}), older "
              "than ({}, {}, {}) of invalidations completed before it began",
              r.begin, r.end, r.slot, r.user, r.partner, s.generation, s.user_generation,
              s.partner_generation, plain.max_new_value, per_user.max_new_value,
              per_partner.max_new_value));
        }
      } else {
        ++v.memo_reads;
        const computed& c = *r.memo;
        if (c.compute_id == 0 || c.compute_id > computes.size() ||
            computes[c.compute_id - 1].value.slot != r.slot ||
            computes[c.compute_id - 1].value.user != r.user || c.slot != r.slot ||
            c.user != r.user) {
          ++v.foreign;
          violation(fmt::format("memoized call ({}, {}) returned computation {}, not its own",
                                r.slot, r.user, c.compute_id));
          continue;
        }
        const std::uint64_t computed_at = computes[c.compute_id - 1].begin;
        const std::uint64_t must_follow = std::max(plain.max_begin, per_user.max_begin);
        if (computed_at <= must_follow) {
          ++v.stale;
          violation(fmt::format(
              "memoized call [{}, {}] of ({}, {}) returned a value computed at {}, before an "
              "invalidation that began at {} and completed before the call",
              r.begin, r.end, r.slot, r.user, computed_at, must_follow));
        }
      }
    }
  }
  return v;
}

}  // namespace test::history
