// CPU time and memory of a server, read from /proc: the given processes and
// all their descendants (a master and its forked workers), summed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace wsd::loadgen {

struct ProcSample {
  uint64_t cpu_us = 0;    // utime + stime of every process (all its threads)
  uint64_t rss_kb = 0;    // VmRSS summed (shared pages count once per process)
  uint32_t processes = 0; // how many processes were found alive
};

// Scans /proc once to find the descendants of `roots` (by ppid in
// /proc/PID/stat), then sums them. Roots that are gone are skipped.
ProcSample sample_process_tree(const std::vector<pid_t>& roots);

// CPU time (user + system) of this process, all threads, in microseconds.
uint64_t self_cpu_us();

// The whole machine's CPU time, all cores, in clock ticks (the first line of
// /proc/stat). In a virtual machine, `steal` is time the hypervisor gave
// our virtual CPUs' physical cores to someone else: a run that had some was
// slowed by the host, not by the server. All zero if /proc/stat is unreadable.
struct MachineCpu {
  uint64_t steal = 0;
  uint64_t idle = 0;    // idle + iowait
  uint64_t total = 0;   // every column
};
MachineCpu sample_machine_cpu();

}  // namespace wsd::loadgen
