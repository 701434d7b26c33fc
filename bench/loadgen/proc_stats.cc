#include "bench/loadgen/proc_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace wsd::loadgen {

namespace {

struct StatLine {
  pid_t ppid = 0;
  uint64_t ticks = 0;  // utime + stime
};

bool read_file(const std::string& path, std::string& out) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return false;
  char buf[4096];
  out.clear();
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return true;
}

// /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and
// parentheses, so fields are counted from the last ')'. utime and stime are
// fields 14 and 15.
bool read_stat(pid_t pid, StatLine& out) {
  std::string text;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", text)) return false;
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  const char* p = text.c_str() + close + 2;  // at field 3 (state)
  uint64_t field[16] = {};
  for (int i = 3; i <= 15 && *p; ++i) {
    char* end;
    field[i] = i == 3 ? 0 : std::strtoull(p, &end, 10);
    p = std::strchr(p, ' ');
    if (!p) break;
    ++p;
  }
  out.ppid = static_cast<pid_t>(field[4]);
  out.ticks = field[14] + field[15];
  return true;
}

uint64_t read_rss_kb(pid_t pid) {
  std::string text;
  if (!read_file("/proc/" + std::to_string(pid) + "/status", text)) return 0;
  const size_t at = text.find("VmRSS:");
  return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + 6, nullptr, 10);
}

std::unordered_map<pid_t, StatLine> scan_proc() {
  std::unordered_map<pid_t, StatLine> all;
  DIR* dir = opendir("/proc");
  if (!dir) return all;
  while (dirent* e = readdir(dir)) {
    char* end;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    StatLine s;
    if (read_stat(static_cast<pid_t>(pid), s)) all.emplace(static_cast<pid_t>(pid), s);
  }
  closedir(dir);
  return all;
}

}  // namespace

ProcSample sample_process_tree(const std::vector<pid_t>& roots) {
  ProcSample sample;
  if (roots.empty()) return sample;
  const auto all = scan_proc();
  std::unordered_map<pid_t, bool> in_tree;  // memo: pid -> descends from a root
  for (pid_t r : roots) in_tree[r] = all.count(r) != 0;
  const long hz = sysconf(_SC_CLK_TCK);
  for (const auto& [pid, stat] : all) {
    // Walk up the ppid chain until a known answer (a root, pid 1 or 0).
    std::vector<pid_t> chain;
    pid_t p = pid;
    bool found = false;
    while (p > 1) {
      auto it = in_tree.find(p);
      if (it != in_tree.end()) { found = it->second; break; }
      chain.push_back(p);
      auto up = all.find(p);
      p = up == all.end() ? 0 : up->second.ppid;
    }
    for (pid_t c : chain) in_tree[c] = found;
    if (!found) continue;
    ++sample.processes;
    sample.cpu_us += stat.ticks * 1000000u / static_cast<uint64_t>(hz);
    sample.rss_kb += read_rss_kb(pid);
  }
  return sample;
}

uint64_t self_cpu_us() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1000000u + static_cast<uint64_t>(tv.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

MachineCpu sample_machine_cpu() {
  MachineCpu m;
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return m;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice;
  // guest time is already inside user, so it is not added again.
  unsigned long long v[8] = {};
  if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &v[6], &v[7]) == 8) {
    m.steal = v[7];
    m.idle = v[3] + v[4];
    for (unsigned long long x : v) m.total += x;
  }
  std::fclose(f);
  return m;
}

}  // namespace wsd::loadgen
