// A reactor thread: one libevent loop that owns a share of the client
// connections and does all their I/O and protocol work (HTTP, handshake,
// frames, close), and talks to every worker over its own channel per worker.
// The loop runs one iteration at a time and, after each, flushes every
// connection and channel written during it: one write per socket per
// iteration, however many frames or messages went into it.
#pragma once

#include <event2/event.h>
#include <poll.h>
#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/buffer_pool.h"
#include "core/message_reader.h"
#include "daemon/answer_timing.h"
#include "daemon/cluster_bridge.h"
#include "daemon/connection.h"
#include "daemon/connection_slab.h"
#include "daemon/request_codec.h"
#include "daemon/routes.h"
#include "daemon/session_table.h"
#include "daemon/settings.h"
#include "daemon/stats.h"
#include "daemon/shared_frames.h"
#include "daemon/topic_table.h"
#include "ipc/channel.h"

namespace wsd::daemon {

struct Accepted {
  int fd;
  sockaddr_in6 peer;
  uint16_t server_port;
  uint8_t listener;    // index into Settings::listeners
};

// BASE mode: a reactor's events go straight to the plugins of its own
// process instead of over IPC (the dispatch seam of docs/architecture.md).
class LocalDelivery {
 public:
  virtual ~LocalDelivery() = default;
  virtual void deliver(ipc::MessageType type, uint64_t conn, uint16_t aux, uint8_t plugin,
                       std::string_view payload, std::string_view payload2) = 0;
};

class Reactor : private core::MessageSink {
 public:
  // PROCESS mode: its own thread and loop; `worker_fds[w]` is this reactor's
  // end of the channel to worker w.
  Reactor(int index, const Settings& settings, SessionTable& sessions, Routes& routes,
          Connection** by_slot, std::vector<int> worker_fds);
  // BASE mode: runs on the caller's loop (`base`), on the caller's thread,
  // and hands events to `local`, the worker `local_worker`.
  Reactor(int index, const Settings& settings, SessionTable& sessions, Routes& routes,
          Connection** by_slot, struct event_base* base, LocalDelivery* local, uint16_t local_worker);
  ~Reactor() override;

  // PROCESS mode: runs the loop on a thread of its own.
  void start();
  // BASE mode: accept from this listening socket on the reactor's loop.
  void listen(int fd, uint16_t port, uint8_t listener);
  // After each event_base_loop pass (run() in PROCESS mode, the owner's loop
  // in BASE mode), in this order: the client sockets' pass, when their epoll
  // set was ready (client_poll.cc); then the iteration's output.
  void client_pass();
  void after_iteration();
  // True once a requested stop is complete (cutting off, through destroy(),
  // whoever is left when the deadline has passed).
  bool stop_complete();
  // A command from a worker (PROCESS: read from a channel; BASE: a direct call).
  void command(ipc::MessageType type, uint64_t conn, uint16_t aux, std::string_view payload);
  // Fan-out commands (topic_phase.cc), aux = opcode | flags << 8: the frame
  // goes to this reactor's subscribers of `topic` / established WebSocket
  // connections, encoded once.
  void publish(std::string_view topic, uint16_t aux, std::string_view data);
  void broadcast(uint16_t aux, std::string_view data);
  // Thread-safe: hand over an accepted socket.
  void adopt(const Accepted& a);
  // Thread-safe: close every connection with 1001 and stop once they are gone
  // or the timeout passed.
  void request_stop();
  void join();
  // Thread-safe: worker w was replaced (it crashed); `fd` is this reactor's
  // end of the channel to its successor. Events not yet sent to the dead
  // worker go to the successor; those it had taken are lost and counted.
  void adopt_worker(int w, int fd);
  // Thread-safe: worker w is being replaced (reload, max_request). Everything
  // already queued for it still goes to it; then its channel is half-closed,
  // its last commands are read to the end, and only then do new events flow
  // to the successor on `fd`: a connection's messages stay in order and none
  // is lost.
  void retire_worker(int w, int fd);
  // Thread-safe: workers still handing over (0 when every retirement is done).
  int retiring() const { return retiring_count_.load(); }
  // Where this reactor counts (a block of the shared stats); set before start().
  void set_stats(ReactorStats* stats) { stats_ = stats; }
  // Thread-safe: hellos seen (workers that reported their plugins).
  int hellos() const { return hellos_.load(); }
  // PROCESS mode with a cluster, before start(): topics are reported to the
  // bridge, and reactor 0 forwards the workers' cluster sends, publishes and
  // broadcasts to it (cluster_phase.cc).
  void set_cluster(ClusterBridge* bridge);
  // Thread-safe: a message from another node (push, close, publish,
  // broadcast), run on this reactor's loop like a worker's command.
  void cluster_deliver(ClusterItem item);

 private:
  struct WorkerLink {
    std::unique_ptr<ipc::Channel> channel;
    struct event* ev = nullptr;
    bool want_write = false;
    bool dirty = false;
    bool congested = false;
    bool alive = true;
    uint64_t inflight = 0;
    uint64_t processed = 0;         // the worker's Processed reports, summed
    bool fresh_batch = false;       // events queued while nothing was in flight (AnswerTiming)
    AnswerTiming timing;
    std::vector<uint64_t> paused;   // connections waiting for this worker to drain
    // A worker being replaced: drained and read to its end before `channel`
    // (its successor's) gets any bytes.
    std::unique_ptr<ipc::Channel> retiring;
    struct event* retiring_ev = nullptr;
    bool retiring_write_closed = false;
  };
  std::unique_ptr<ipc::Channel> worker_channel(int fd) const;

  void init_loop();
  void run();
  void flush_channels_before_exit();
  void replay_stashed();
  static void on_accept(evutil_socket_t fd, short, void* arg);
  void connection_shed();
  void take_inbox();
  void install_channel(int w, int fd);
  void start_retirement(int w, int fd);
  void read_retiring(int w);
  void finish_retirement(int w);
  void open_connection(const Accepted& a);
  void refuse_connection(int fd);
  bool peer_is_trusted(const sockaddr_in6& peer, const ListenerRuntime& l) const;

  // client sockets: the reactor's own epoll set (client_poll.cc)
  void init_client_poll();
  static void on_clients_ready(evutil_socket_t, short, void* arg);
  void poll_clients();
  void update_events(Connection& c);        // (re)registers for what c waits for
  void unwatch(Connection& c);
  void read_again(Connection& c);           // bytes left unread (budget, replay, TLS): read next iteration

  // connection I/O (connection_io.cc)
  // to_eof: read until the socket is empty rather than stop at a short
  // read (the peer's FIN may be waiting behind the data).
  void on_readable(Connection& c, bool to_eof = false);
  void on_writable(Connection& c);
  void feed(Connection& c, uint8_t* data, size_t len);
  void queue_output(Connection& c, std::string_view a, std::string_view b = {});
  void append_out(Connection& c, std::string_view bytes);
  size_t write_through(Connection& c, std::string_view a, std::string_view b);
  void write_now(Connection& c);
  void finish(Connection& c);               // close after what is queued has left
  bool linger(Connection& c);
  void destroy(Connection& c);              // at a safe point: close, release, report
  void free_doomed();
  void trim_extra(Connection& c);           // frees c.extra when nothing in it is in use
  std::unique_ptr<core::Buffer> lend_buffer() override;   // MessageSink: reassembly from the pool

  // what comes before HTTP: PROXY header, TLS handshake; byte I/O through TLS (tls_phase.cc)
  enum class IoStatus : uint8_t { Data, WouldBlock, Eof, Error };
  IoStatus read_bytes(Connection& c, uint8_t* buf, size_t cap, size_t& n);
  IoStatus send_bytes(Connection& c, const uint8_t* buf, size_t len, size_t& n);
  void read_proxy_header(Connection& c);
  bool drive_tls_handshake(Connection& c);   // true once done
  void begin_after_proxy(Connection& c);
  bool apply_forwarded(Connection& c);   // false: refused by the per-IP limits

  // HTTP phase (http_phase.cc)
  void feed_http(Connection& c, uint8_t* data, size_t len);
  void on_http_request(Connection& c, std::string_view leftover);
  void start_handshake(Connection& c, std::string_view leftover);
  void complete_handshake(Connection& c, const core::HandshakeResult& r,
                          const std::vector<core::HttpHeader>& extra, std::string encoded_request,
                          bool send_open, std::string_view leftover);
  void answer_http(Connection& c, int status, std::string_view text);
  void replay_later(Connection& c, std::string_view bytes);
  void on_worker_answer(Connection& c, std::string_view payload);
  PeerInfo peer_info(const Connection& c) const;

  // WebSocket phase (websocket_phase.cc): MessageSink, commands from workers
  void on_message(core::Opcode op, const uint8_t* data, size_t len, bool compressed) override;
  uint8_t* message_destination(size_t len) override;
  bool accept_message(Connection& c);
  void on_ping(const uint8_t* data, size_t len) override;
  void on_pong(const uint8_t* data, size_t len) override;
  void on_close(uint16_t code, std::string_view reason) override;
  void on_error(uint16_t code, std::string_view why) override;
  void send_frame(Connection& c, uint8_t opcode, uint8_t flags, std::string_view data);
  void send_close(Connection& c, uint16_t code, std::string_view reason);
  void on_push(uint64_t id, uint16_t aux, std::string_view data);
  void on_close_command(uint64_t id, uint16_t code, std::string_view reason);
  void close_slow(Connection& c);   // buffer_output_close

  // topics and fan-out (topic_phase.cc)
  struct Fanout;
  void on_subscribe(uint64_t id, std::string_view topic, bool add);
  void leave_topics(Connection& c);
  void fan_out_to(Connection& c, Fanout& f);
  void end_fan_out(const Fanout& f);
  SharedSpan plain_frame(Fanout& f, int which);
  SharedSpan packed_frame(Fanout& f);
  void queue_shared(Connection& c, SharedSpan s);
  void take_shared(Connection& c);   // the span's bytes into c.out, before anything queued after them
  bool write_shared(Connection& c);  // false when the connection was destroyed

  // workers (dispatch.cc)
  static void on_channel_event(evutil_socket_t fd, short what, void* arg);
  void read_channel(int w);
  void on_channel_message(int w, const ipc::MessageHeader& h, std::string_view payload);
  int pick_worker(const Connection& c, bool is_message);
  int home_worker(uint64_t id, const sockaddr_in6& peer) const;
  void dispatch(int w, Connection& c, ipc::MessageType type, uint16_t aux, uint8_t flags,
                std::string_view payload, std::string_view payload2 = {});
  void dispatched(int w, Connection& c);
  void flush_channel(int w);
  void flush_channels();
  int collect_answers();
  void send_in_arrival_order(int answered);
  void resume_paused(int w);

  // cluster (cluster_phase.cc)
  void run_cluster_items(std::vector<ClusterItem>& items);
  void forward_to_cluster(const ipc::MessageHeader& h, std::string_view payload);

  // timers (reactor.cc)
  static void on_tick(evutil_socket_t, short, void* arg);
  void check_deadlines();
  void check_heartbeats(double t);

  // per-IP limits (connection_io.cc). Per reactor: in PROCESS mode with
  // several reactors each counts only the connections it owns.
  static uint32_t hash_ip(uint8_t family, const uint8_t* addr);
  static std::string ip_key(uint8_t family, const uint8_t* addr);
  bool ip_limits_on() const { return settings_.max_connection_per_ip > 0 || settings_.handshake_rate_per_ip > 0; }
  int ip_limit_status(const std::string& key);
  bool client_address_known(Connection& c, bool http_stage);
  void release_ip(const Connection& c);
  void refuse_with(int fd, int status);
  void log_refusal(int status);
  void count_failure(HandshakeFailure f) { stats_->handshake_failures[static_cast<int>(f)].add(); }

  Connection* find(uint64_t id) const;
  double now() const;
  int64_t now_ns() const;   // CLOCK_MONOTONIC
  // Milliseconds since the reactor started, in 32 bits: differences stay
  // right across the wrap (49 days) for any span shorter than that.
  uint32_t now_ms() const;

  const int index_;
  const Settings& settings_;
  SessionTable& sessions_;
  Routes& routes_;
  Connection** by_slot_;   // shared array, but a slot is only touched by its owner
  std::vector<WorkerLink> workers_;
  struct event_base* base_ = nullptr;
  bool owns_base_ = true;
  LocalDelivery* local_ = nullptr;     // BASE mode
  uint16_t local_worker_ = 0;
  struct ListenEvent {
    struct event* ev;
    uint16_t port;
    uint8_t listener;
  };
  std::vector<ListenEvent> listeners_;
  struct event* wake_ev_ = nullptr;
  struct event* tick_ev_ = nullptr;
  int client_epfd_ = -1;                   // every client socket (client_poll.cc)
  struct event* clients_ev_ = nullptr;     // client_epfd_ on the libevent loop
  bool clients_ready_ = false;             // client_epfd_ reported ready: a pass is due (client_pass)
  std::vector<epoll_event> ready_;
  std::vector<uint64_t> read_again_;       // connections to read without waiting for the fd
  double epoch_ = 0;                       // now() at start (now_ms)
  int wake_fd_ = -1;
  std::thread thread_;

  std::mutex inbox_mutex_;
  std::vector<Accepted> inbox_;
  struct NewChannel {
    int worker;
    int fd;
    bool retire;   // true: a reload (hand over in order); false: after a crash
  };
  std::vector<NewChannel> new_channels_;   // under inbox_mutex_
  std::vector<ClusterItem> cluster_inbox_;  // under inbox_mutex_
  ClusterBridge* cluster_ = nullptr;
  std::atomic<int> retiring_count_{0};
  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;
  double stop_deadline_ = 0;
  std::atomic<int> hellos_{0};

  ConnectionSlab slab_;                    // where connections_ live
  std::vector<Connection*> connections_;   // all owned (for stop and deadlines)
  std::vector<Connection*> dirty_;
  uint16_t reads_ = 0;                     // reads so far, wrapping (Connection::read_seq)
  bool collecting_ = false;                // in collect_answers: answers are timed as they come
  std::vector<int> waited_;                // collect_answers' workers and poll set, kept for reuse
  std::vector<pollfd> wait_fds_;
  std::vector<int> wait_which_;
  std::vector<Connection*> doomed_;
  std::vector<uint64_t> replays_;          // connections with stashed bytes (replay_later)
  Connection* current_ = nullptr;          // whose bytes the MessageReader is reading
  // A message being unmasked straight into a worker channel's shared ring
  // (message_destination), until on_message sends it or drops it.
  struct ReservedPayload {
    static constexpr uint64_t kNotInRing = ~uint64_t{0};
    int worker = -1;              // the worker picked for it (-1: none yet)
    uint64_t pos = kNotInRing;    // its place in that worker channel's ring
    size_t size = 0;
  } reserved_;
  void drop_reservation(const ReservedPayload& r);
  uint32_t round_robin_ = 0;
  uint64_t refused_ = 0;                   // connections over max_connection (for the log line)
  uint64_t shed_ = 0;                      // BASE: connections closed at accept, out of descriptors
  double last_shed_log_ = 0;
  ReactorStats own_stats_;                 // until set_stats() points elsewhere
  ReactorStats* stats_ = &own_stats_;
  double last_refusal_log_ = 0;
  std::string scratch_;                    // reused encode buffer
  TopicTable topics_;
  SharedFrames shared_frames_;             // this iteration's fan-out frames
  std::unique_ptr<core::Deflater> shared_deflater_;   // compressed publishes: a fresh stream each
  std::vector<Connection*> slow_;          // over buffer_output_size in a fan-out (buffer_output_close)
  std::vector<uint8_t> read_buffer_;
  core::BufferPool buffers_;               // output and reassembly buffers, lent while in use
  struct IpBucket {
    double tokens = 0;
    double last = 0;
  };
  std::unordered_map<std::string, uint32_t> per_ip_;        // live connections per IP
  std::unordered_map<std::string, IpBucket> handshake_rate_;  // token buckets per IP
  double last_bucket_sweep_ = 0;
};

}  // namespace wsd::daemon
