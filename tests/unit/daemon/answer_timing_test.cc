// Tests of daemon/answer_timing.h: when a reactor waits for a worker's
// answers, and when it stops and starts again.
#include <doctest/doctest.h>

#include <cstdint>

#include "daemon/answer_timing.h"

using wsd::daemon::AnswerTiming;

namespace {
constexpr int64_t kUs = 1000;

// A reactor's view of one worker, one batch at a time.
struct Batches {
  AnswerTiming timing;
  uint64_t processed = 0;
  int64_t t = 1;

  // A batch of `events`; the worker reports them `took` after it left. The
  // reactor times them when it waited, and only sees them later otherwise.
  // Returns whether it chose to wait.
  bool batch(uint64_t events, int64_t took) {
    timing.sent(processed + events);
    bool waited = timing.worth_waiting(t);
    processed += events;
    timing.processed(processed, waited ? t + took : t + 10 * took, waited);
    t += 1000 * kUs;
    return waited;
  }
};
}  // namespace

TEST_CASE("answer timing: nothing sent, nothing awaited") {
  AnswerTiming timing;
  CHECK_FALSE(timing.awaiting());
  CHECK_FALSE(timing.worth_waiting(0));
  CHECK(timing.quick());
}

TEST_CASE("answer timing: a batch is awaited until every event of it is processed") {
  AnswerTiming timing;
  timing.sent(7);   // 7 events processed in all once this batch is done
  CHECK(timing.awaiting());
  CHECK(timing.worth_waiting(1000));
  timing.processed(5, 2000, true);   // the first part of the batch
  CHECK(timing.awaiting());
  timing.processed(7, 3000, true);
  CHECK_FALSE(timing.awaiting());
}

TEST_CASE("answer timing: a quick worker is always waited for; occasional slow batches do not change that") {
  Batches w;
  for (int i = 0; i < 40; ++i) {
    // every fourth batch is slow (the scheduler ran something else first)
    int64_t took = i % 4 == 3 ? 180 * kUs : 15 * kUs;
    CHECK(w.batch(10, took));
  }
  CHECK(w.timing.quick());
}

TEST_CASE("answer timing: a slow worker stops being waited for, except for a probe now and then") {
  Batches w;
  int waited = 0;
  for (int i = 0; i < 5; ++i) waited += w.batch(3, 2000 * kUs);
  CHECK(waited == 5);   // five slow batches out of eight make it slow
  CHECK_FALSE(w.timing.quick());
  waited = 0;
  for (int i = 0; i < 160; ++i) waited += w.batch(3, 2000 * kUs);
  CHECK(waited == 160 / static_cast<int>(AnswerTiming::kProbeEvery));
  CHECK_FALSE(w.timing.quick());
}

TEST_CASE("answer timing: a wait given up counts as slow; a worker quick again is waited for again") {
  Batches w;
  for (int i = 0; i < 5; ++i) {
    w.timing.sent(w.processed + 1);
    REQUIRE(w.timing.worth_waiting(w.t));
    w.timing.gave_up(w.t + 200 * kUs);   // no answer within the reactor's bound
    CHECK_FALSE(w.timing.awaiting());
    w.processed += 1;                     // the answer comes later, unwatched
    w.timing.processed(w.processed, w.t + 5000 * kUs, false);
    w.t += 1000 * kUs;
  }
  CHECK_FALSE(w.timing.quick());
  // The probes find it quick again; after enough of them it is waited for
  // every time.
  int rounds = 0;
  while (!w.timing.quick() && rounds < 1000) {
    w.batch(1, 10 * kUs);
    ++rounds;
  }
  CHECK(w.timing.quick());
  CHECK(rounds <= 8 * static_cast<int>(AnswerTiming::kProbeEvery));
  CHECK(w.batch(1, 10 * kUs));
}

TEST_CASE("answer timing: a replaced worker's batch is forgotten") {
  AnswerTiming timing;
  timing.sent(4);
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
    timing.sent(++processed);
    REQUIRE(timing.worth_waiting(t + 300 * kUs));
    timing.processed(processed, t + 320 * kUs, true);
  }
  CHECK(timing.quick());
}
