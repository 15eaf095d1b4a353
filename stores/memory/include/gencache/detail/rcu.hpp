#pragma once
// Read-side protection of the memory store's lock-free hits: liburcu's bulletproof flavour
// (urcu-bp). We use the library rather than an epoch scheme of our own: its grace periods
// are proven, and its bulletproof flavour registers a reading thread lazily on its first
// read section and forgets it at thread exit, so registration is invisible to users.
//
// The read lock is liburcu's inline version (static/urcu-bp.h, written to be inlined into
// code of any licence): 3 ns per lock/unlock pair against 12 ns for the exported calls.
// Writers hand what they unlink to gencache's reclaimer thread, which waits for a grace
// period (`synchronize_rcu`: every read section that began before has ended) and hands it
// back to be freed outside any read section (src/reclamation.hpp).
//
// Under sanitizers (ASan, TSan, or GENCACHE_RCU_OUT_OF_LINE defined, for UBSan alone) the
// exported calls are used instead: the inline version reads liburcu's per-thread record
// through a pointer to a 128-byte-aligned type that the library allocates 32-byte aligned,
// which UBSan reports (harmless on the hardware, but not ours to fix).
//
// ThreadSanitizer cannot see liburcu's grace periods (its atomics are inline assembly and
// the library is not instrumented), so under TSan every read section ends with a release
// on `rcu_readers_done` and every deferred free begins with an acquire on it: that is
// exactly the order a grace period guarantees.

#if defined(__SANITIZE_THREAD__)
#define GENCACHE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GENCACHE_TSAN 1
#endif
#endif
#ifdef GENCACHE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#if !defined(GENCACHE_RCU_OUT_OF_LINE) && (defined(GENCACHE_TSAN) || defined(__SANITIZE_ADDRESS__))
#define GENCACHE_RCU_OUT_OF_LINE 1
#endif
#ifdef GENCACHE_RCU_OUT_OF_LINE
extern "C" {
void urcu_bp_read_lock(void);
void urcu_bp_read_unlock(void);
}
#else
#include <urcu/static/urcu-bp.h>
#endif

namespace gencache::detail {

#ifdef GENCACHE_TSAN
inline char rcu_readers_done;
#endif

/// One RCU read-side critical section: what a hit reads stays allocated until it ends.
/// Nests. Never wait for a grace period (nor take a lock whose holder may) inside one.
class rcu_read_section {
 public:
#ifdef GENCACHE_RCU_OUT_OF_LINE
  rcu_read_section() noexcept { urcu_bp_read_lock(); }
#else
  rcu_read_section() noexcept { _urcu_bp_read_lock(); }
#endif
  ~rcu_read_section() {
#ifdef GENCACHE_TSAN
    __tsan_release(&rcu_readers_done);
#endif
#ifdef GENCACHE_RCU_OUT_OF_LINE
    urcu_bp_read_unlock();
#else
    _urcu_bp_read_unlock();
#endif
  }
  rcu_read_section(const rcu_read_section&) = delete;
  rcu_read_section& operator=(const rcu_read_section&) = delete;
};

}  // namespace gencache::detail
