// Tests of daemon/answer_timing.h: when a reactor waits for a worker's
// answers, and when it stops and starts again.
#include <doctest/doctest.h>

#include <cstdint>

#include "daemon/answer_timing.h"

using wsd::daemon::AnswerTiming;

namespace {
constexpr int64_t kUs = 1000;

// One batch of `events`, sent at `t`; the worker reports them `took` later
// while the reactor waits. Returns whether the reactor chose to wait.
bool batch(AnswerTiming& timing, uint64_t& processed, int64_t& t, uint64_t events, int64_t took) {
  timing.sent(t, processed + events);
  bool waited = timing.worth_waiting(t);
  if (waited) {
    processed += events;
    timing.processed(processed, t + took, true);
  } else {
    processed += events;
    timing.processed(processed, t + 10 * took, false);
  }
  t += 1000 * kUs;
  return waited;
}
}  // namespace

TEST_CASE("answer timing: nothing sent, nothing awaited") {
  AnswerTiming timing;
  CHECK_FALSE(timing.awaiting());
  CHECK_FALSE(timing.worth_waiting(0));
  CHECK(timing.quick());
}

TEST_CASE("answer timing: a batch is awaited until every event of it is processed") {
  AnswerTiming timing;
  timing.sent(1000, 7);   // 7 events processed in all once this batch is done
  CHECK(timing.awaiting());
  CHECK(timing.worth_waiting(1000));
  timing.processed(5, 2000, true);   // the first part of the batch
  CHECK(timing.awaiting());
  timing.processed(7, 3000, true);
  CHECK_FALSE(timing.awaiting());
}

TEST_CASE("answer timing: a quick worker is always waited for; occasional slow batches do not change that") {
  AnswerTiming timing;
  uint64_t processed = 0;
  int64_t t = 1;
  for (int i = 0; i < 40; ++i) {
    // every fourth batch is slow (the scheduler ran something else first)
    int64_t took = i % 4 == 3 ? 180 * kUs : 15 * kUs;
    CHECK(batch(timing, processed, t, 10, took));
  }
  CHECK(timing.quick());
}

TEST_CASE("answer timing: a slow worker stops being waited for, except for a probe now and then") {
  AnswerTiming timing;
  uint64_t processed = 0;
  int64_t t = 1;
  int waited = 0;
  for (int i = 0; i < 5; ++i) waited += batch(timing, processed, t, 3, 2000 * kUs);
  CHECK(waited == 5);   // five slow batches out of eight make it slow
  CHECK_FALSE(timing.quick());
  waited = 0;
  for (int i = 0; i < 160; ++i) waited += batch(timing, processed, t, 3, 2000 * kUs);
  CHECK(waited == 160 / static_cast<int>(AnswerTiming::kProbeEvery));
  CHECK_FALSE(timing.quick());
}

TEST_CASE("answer timing: a wait given up counts as slow; a worker quick again is waited for again") {
  AnswerTiming timing;
  int64_t t = 1;
  uint64_t processed = 0;
  for (int i = 0; i < 5; ++i) {
    timing.sent(t, processed + 1);
    REQUIRE(timing.worth_waiting(t));
    timing.gave_up(t + 200 * kUs);   // no answer within the reactor's bound
    CHECK_FALSE(timing.awaiting());
    processed += 1;                   // the answer comes later, unwatched
    timing.processed(processed, t + 5000 * kUs, false);
    t += 1000 * kUs;
  }
  CHECK_FALSE(timing.quick());
  // The probes find it quick again; after enough of them it is waited for
  // every time.
  int rounds = 0;
  while (!timing.quick() && rounds < 1000) {
    batch(timing, processed, t, 1, 10 * kUs);
    ++rounds;
  }
  CHECK(timing.quick());
  CHECK(rounds <= 8 * static_cast<int>(AnswerTiming::kProbeEvery));
  CHECK(batch(timing, processed, t, 1, 10 * kUs));
}

TEST_CASE("answer timing: a replaced worker's batch is forgotten") {
  AnswerTiming timing;
  timing.sent(10, 4);
  CHECK(timing.worth_waiting(10));
  timing.forget();
  CHECK_FALSE(timing.awaiting());
  CHECK_FALSE(timing.worth_waiting(20));
  timing.processed(4, 30, true);   // a late report changes nothing
  CHECK(timing.quick());
}

TEST_CASE("answer timing: the wait is timed from when it starts, not from when the batch left") {
  AnswerTiming timing;
  // Batches that left an iteration before the reactor waits for them (sent at
  // t, waited for from t + 300 us) and are answered 20 us into the wait: quick.
  uint64_t processed = 0;
  for (int i = 0; i < 8; ++i) {
    int64_t t = 1 + i * 1000 * kUs;
    timing.sent(t, ++processed);
    REQUIRE(timing.worth_waiting(t + 300 * kUs));
    timing.processed(processed, t + 320 * kUs, true);
  }
  CHECK(timing.quick());
}
