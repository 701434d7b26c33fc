// How quickly one worker answers a batch of events that reached it while it
// was idle, seen from a reactor (PROCESS mode). The reactor waits briefly for
// those answers before its writes (Reactor::collect_answers), so that a round
// trip takes one loop iteration; it waits only for a worker that has been
// quick, so that a plugin that blocks does not slow the reactor down.
#pragma once

#include <cstdint>

namespace wsd::daemon {

class AnswerTiming {
 public:
  // A worker counts as quick while at most half of its last 8 waited-for
  // batches took longer than this: a wait cut short by the scheduler now and
  // then does not stop the waiting, a plugin that takes its time does.
  static constexpr int64_t kQuickNs = 100'000;
  // While it is not, every this many batches are waited for all the same,
  // to see whether it has become quick again.
  static constexpr uint32_t kProbeEvery = 16;

  // A batch left while nothing else was in flight; the worker has answered it
  // once its processed count reaches done_at.
  void sent(uint64_t done_at) {
    awaiting_ = true;
    done_at_ = done_at;
    decided_ = false;
  }
  // Whether to wait for the batch out, now. Decided once per batch; the
  // time a wait takes is counted from the first call (a batch may have left
  // an iteration earlier, and the worker not be the slower for it).
  bool worth_waiting(int64_t now_ns) {
    if (!awaiting_) return false;
    if (!decided_) {
      decided_ = true;
      chosen_ = quick() || ++skipped_ % kProbeEvery == 0;
      wait_from_ns_ = now_ns;
    }
    return chosen_;
  }
  // The worker's Processed reports, as a running total. `timed`: the
  // reactor was waiting for them, so now_ns is when they came (otherwise it
  // is only when the reactor looked, and says nothing of the worker).
  void processed(uint64_t total, int64_t now_ns, bool timed) {
    if (!awaiting_ || total < done_at_) return;
    if (timed && decided_) sample(now_ns - wait_from_ns_);
    awaiting_ = false;
  }
  // The reactor stopped waiting before the answer came.
  void gave_up(int64_t now_ns) {
    if (!awaiting_) return;
    if (decided_) sample(now_ns - wait_from_ns_);
    awaiting_ = false;
  }
  bool awaiting() const { return awaiting_; }
  bool quick() const { return __builtin_popcount(slow_history_) <= 4; }
  // The worker was replaced: its batch will not be answered.
  void forget() { awaiting_ = false; }

 private:
  void sample(int64_t ns) { slow_history_ = static_cast<uint8_t>(slow_history_ << 1 | (ns > kQuickNs)); }

  uint64_t done_at_ = 0;
  uint8_t slow_history_ = 0;   // one bit per waited-for batch, newest lowest: 1 = slow
  int64_t wait_from_ns_ = 0;
  uint32_t skipped_ = 0;
  bool awaiting_ = false;   // a batch is out and not yet answered
  bool decided_ = false;    // worth_waiting was asked for this batch
  bool chosen_ = false;
};

}  // namespace wsd::daemon
