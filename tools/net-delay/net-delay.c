/*
 * lkswarm-delay: delays the packets of one netfilter queue in user space, for kernels without
 * netem (`net.delay` on the local testbed, packages/testbed/src/user-delay.ts).
 *
 * An iptables rule (`-j NFQUEUE --queue-num N --queue-bypass`) hands each matching packet to this
 * program over nfnetlink_queue; it holds the packet `delay` ms plus a draw of `jitter` (normal with
 * that standard deviation, as netem's `distribution normal`; or uniform in +-jitter), never less
 * than 0, counted from when the packet reached the hook, and then accepts it. Packets leave in the
 * order they came (a queue, not netem's independent draws, which reorder packets closer than the
 * jitter): a packet's release is its own draw or the previous release, whichever is later. With
 * --queue-bypass the rule lets packets through untouched while no program listens, so a killed
 * delayer leaves the network working.
 *
 * It writes what it did, for checking the figures a swarm reports against what the network did:
 *   --truth FILE   one line per RTP packet released (UDP whose payload has RTP version 2 and a
 *                  payload type outside RTCP's 64-95): "r release_us hold_us dport ssrc seq ts pt m",
 *                  and per STUN message (RFC 5389's magic cookie): "s release_us hold_us dport type
 *                  txid way" (the transaction ID in hex, which pairs a request with its answer
 *                  when the queue holds both directions; way "in" from the prerouting hook, else
 *                  "out"); release on CLOCK_REALTIME, microseconds; hold from the packet's
 *                  arrival at the hook (the kernel's receive stamp, NFQA_TIMESTAMP, for a packet
 *                  coming in; when this program read it for one this host sends) to its release,
 *                  so a delayer waiting for a CPU is in the truth; written when it stops.
 *   on exit        one JSON line on stdout: packets held, RTP packets, mean/min/max hold (ms).
 *
 * Usage: lkswarm-delay --queue N --delay-ms D [--jitter-ms J] [--distribution normal|uniform]
 *                      [--seed S] [--truth FILE] [--name NAME]
 * --name is not read: it names the fault in the command line, where a rollback looks for it.
 * Prints "ready" once the queue is bound; SIGTERM or SIGINT releases every held packet at once and
 * exits 0. It exits with its parent (PR_SET_PDEATHSIG). Built by scripts/setup with cc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* packets held at once: far above what a test's rates and delays need (2,000/s for 2 s) */
#define HELD_MAX 65536
/* bytes of each packet copied to us: IPv4/IPv6 and UDP headers and an RTP header */
#define COPY_RANGE 128
#define BUF_SIZE (1 << 20)
/* the kernel's own bound on queued packets; past it the queue fails open (accepts) */
#define QUEUE_MAXLEN 16384
/* a kernel receive stamp older than this (or in the future: the wall clock stepped) is not the
   packet's arrival, and the packet is timed from when it was read */
#define STAMP_TRUSTED_NS 1000000000LL

struct held {
  uint32_t id;
  int64_t arrival_ns, release_ns; /* CLOCK_MONOTONIC */
  int rtp, stun, incoming;
  uint16_t dport, stun_type;
  uint8_t stun_tx[12];
  uint32_t ssrc, ts;
  uint16_t seq;
  uint8_t pt, marker;
};

static struct held held[HELD_MAX];
static size_t head, count;
static int64_t last_release_ns;
static volatile sig_atomic_t stopping;
static int fd;
static uint16_t queue_num;
static uint32_t seq_no;
static uint64_t rng;

static struct {
  uint64_t packets, rtp, released_early, verdict_errors, lost_messages, kernel_stamped;
  double hold_sum_ms, hold_min_ms, hold_max_ms;
} stats = {0, 0, 0, 0, 0, 0, 0, 1e18, 0};

static FILE *truth;
static char *truth_path;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static int64_t now_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* xorshift64*: a seeded draw, so a run can be repeated */
static double uniform01(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* a standard normal draw (Box-Muller) */
static double normal01(void) {
  double u = uniform01();
  while (u <= 0) u = uniform01();
  return sqrt(-2 * log(u)) * cos(2 * M_PI * uniform01());
}

static int uniform_jitter;

static void die(const char *what) {
  fprintf(stderr, "lkswarm-delay: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void put_attr(char *buf, size_t *len, uint16_t type, const void *data, uint16_t size) {
  struct nlattr *a = (struct nlattr *)(buf + *len);
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + size);
  memcpy(buf + *len + NLA_HDRLEN, data, size);
  *len += NLA_ALIGN(a->nla_len);
}

static size_t start_msg(char *buf, uint16_t type, uint16_t flags) {
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  memset(buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
  h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  h->nlmsg_seq = ++seq_no;
  struct nfgenmsg *g = (struct nfgenmsg *)(buf + NLMSG_HDRLEN);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(queue_num);
  return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
}

static void send_msg(char *buf, size_t len) {
  ((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
  struct sockaddr_nl to = {.nl_family = AF_NETLINK};
  if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to) < 0) die("netlink send");
}

/* A configuration message, and the kernel's answer to it (an error names what went wrong). */
static void configure(const char *what, uint16_t attr, const void *data, uint16_t size,
                      uint16_t attr2, const void *data2, uint16_t size2) {
  char buf[256];
  size_t len = start_msg(buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
  put_attr(buf, &len, attr, data, size);
  if (data2 != NULL) put_attr(buf, &len, attr2, data2, size2);
  send_msg(buf, len);
  char answer[4096];
  for (;;) {
    ssize_t n = recv(fd, answer, sizeof answer, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(what);
    }
    /* an int, as NLMSG_OK compares it: past the last message it may go below 0 */
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)answer; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq != seq_no) continue;
      int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (err == 0) return;
      errno = -err;
      die(what);
    }
  }
}

/* Accepts every queued packet up to and including `id` (ids are the kernel's, in arrival order). */
static void accept_through(uint32_t id) {
  char buf[128];
  size_t len = start_msg(buf, NFQNL_MSG_VERDICT_BATCH, 0);
  struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};
  put_attr(buf, &len, NFQA_VERDICT_HDR, &v, sizeof v);
  send_msg(buf, len);
}

static void log_released(const struct held *p, int64_t hold_ns, int64_t release_real_ns) {
  double hold_ms = (double)hold_ns / 1e6;
  stats.hold_sum_ms += hold_ms;
  if (hold_ms < stats.hold_min_ms) stats.hold_min_ms = hold_ms;
  if (hold_ms > stats.hold_max_ms) stats.hold_max_ms = hold_ms;
  if (p->rtp && truth != NULL)
    fprintf(truth, "r %lld %lld %u %u %u %u %u %u\n", (long long)(release_real_ns / 1000),
            (long long)(hold_ns / 1000), p->dport, p->ssrc, p->seq, p->ts, p->pt, p->marker);
  else if (p->stun && truth != NULL) {
    char tx[2 * sizeof p->stun_tx + 1];
    for (size_t i = 0; i < sizeof p->stun_tx; i++) snprintf(tx + 2 * i, 3, "%02x", p->stun_tx[i]);
    fprintf(truth, "s %lld %lld %u %u %s %s\n", (long long)(release_real_ns / 1000),
            (long long)(hold_ns / 1000), p->dport, p->stun_type, tx, p->incoming ? "in" : "out");
  }
}

/* Releases what is due (everything when `all`); returns ns until the next release, or -1. */
static int64_t release_due(int all) {
  int64_t now = now_ns(CLOCK_MONOTONIC);
  int64_t real = now_ns(CLOCK_REALTIME);
  int released = 0;
  uint32_t last = 0;
  while (count > 0) {
    struct held *p = &held[head];
    if (!all && p->release_ns > now) break;
    /* the hold as it happened: a late wake-up holds longer than drawn, a flush shorter */
    log_released(p, now - p->arrival_ns, real);
    last = p->id;
    released = 1;
    head = (head + 1) % HELD_MAX;
    count--;
  }
  if (released) accept_through(last);
  return count > 0 ? held[head].release_ns - now : -1;
}

static void parse_payload(struct held *p, const uint8_t *ip, size_t len) {
  if (len < 1) return;
  size_t l4;
  uint8_t proto;
  if ((ip[0] >> 4) == 4) {
    if (len < 20) return;
    l4 = (size_t)(ip[0] & 0x0f) * 4;
    proto = ip[9];
    /* a fragment past the first carries no UDP header */
    if ((ntohs(*(const uint16_t *)(ip + 6)) & 0x1fff) != 0) return;
  } else if ((ip[0] >> 4) == 6) {
    if (len < 40) return;
    l4 = 40;
    proto = ip[6];
  } else {
    return;
  }
  if (proto != 17 || len < l4 + 8 + 12) return;
  const uint8_t *udp = ip + l4;
  const uint8_t *rtp = udp + 8;
  if ((rtp[0] >> 6) == 0 && ntohl(*(const uint32_t *)(rtp + 4)) == 0x2112A442) {
    /* a STUN header is 20 bytes: type, length, cookie, then the 12-byte transaction ID */
    if (len < l4 + 8 + 20) return;
    p->stun = 1;
    memcpy(p->stun_tx, rtp + 8, sizeof p->stun_tx);
    p->dport = ntohs(*(const uint16_t *)(udp + 2));
    p->stun_type = ntohs(*(const uint16_t *)rtp);
    return;
  }
  uint8_t pt = rtp[1] & 0x7f;
  if ((rtp[0] >> 6) != 2 || (pt >= 64 && pt <= 95)) return;
  p->rtp = 1;
  p->dport = ntohs(*(const uint16_t *)(udp + 2));
  p->marker = rtp[1] >> 7;
  p->pt = pt;
  p->seq = ntohs(*(const uint16_t *)(rtp + 2));
  p->ts = ntohl(*(const uint32_t *)(rtp + 4));
  p->ssrc = ntohl(*(const uint32_t *)(rtp + 8));
}

static void on_packet(struct nlmsghdr *h, int64_t delay_ns, int64_t jitter_ns) {
  struct nfgenmsg *g = NLMSG_DATA(h);
  struct nlattr *a = (struct nlattr *)((char *)g + NLMSG_ALIGN(sizeof *g));
  int remaining = (int)h->nlmsg_len - (int)((char *)a - (char *)h);
  struct held p = {0};
  int have_id = 0;
  int64_t stamped_real_ns = 0;
  const uint8_t *payload = NULL;
  size_t payload_len = 0;
  while (remaining >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= remaining) {
    uint16_t type = a->nla_type & NLA_TYPE_MASK;
    void *data = (char *)a + NLA_HDRLEN;
    if (type == NFQA_PACKET_HDR && a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
      p.id = ntohl(((struct nfqnl_msg_packet_hdr *)data)->packet_id);
      p.incoming = ((struct nfqnl_msg_packet_hdr *)data)->hook == NF_INET_PRE_ROUTING;
      have_id = 1;
    } else if (type == NFQA_TIMESTAMP &&
               a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_timestamp)) {
      const struct nfqnl_msg_packet_timestamp *ts = data;
      stamped_real_ns = (int64_t)be64toh(ts->sec) * 1000000000 + (int64_t)be64toh(ts->usec) * 1000;
    } else if (type == NFQA_PAYLOAD) {
      payload = data;
      payload_len = a->nla_len - NLA_HDRLEN;
    }
    remaining -= NLA_ALIGN(a->nla_len);
    a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
  }
  if (!have_id) return;
  if (payload != NULL) parse_payload(&p, payload, payload_len);
  stats.packets++;
  if (p.rtp) stats.rtp++;
  int64_t now = now_ns(CLOCK_MONOTONIC);
  /* held from when the packet reached the hook, not from when this process got to read it: a
     delayer waiting for a CPU holds packets that long too, and the truth says so */
  int64_t arrival = now;
  if (stamped_real_ns > 0) {
    int64_t waited = now_ns(CLOCK_REALTIME) - stamped_real_ns;
    if (waited >= 0 && waited < STAMP_TRUSTED_NS) {
      arrival = now - waited;
      stats.kernel_stamped++;
    }
  }
  double spread = uniform_jitter ? 2 * uniform01() - 1 : normal01();
  int64_t draw = delay_ns + (int64_t)(spread * (double)jitter_ns);
  if (draw < 0) draw = 0;
  int64_t release = arrival + draw;
  if (release < last_release_ns) release = last_release_ns;
  if (count == HELD_MAX) {
    /* never drop what we were handed: past the bound, what is held passes at once, counted */
    stats.released_early += count;
    release_due(1);
  }
  last_release_ns = release;
  p.arrival_ns = arrival;
  p.release_ns = release;
  held[(head + count) % HELD_MAX] = p;
  count++;
}

static double number_arg(const char *name, const char *text, double min, double max) {
  char *end;
  double v = strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !(v >= min && v <= max)) {
    fprintf(stderr, "lkswarm-delay: %s %s: expected a number from %g to %g\n", name, text, min, max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  double delay_ms = -1, jitter_ms = 0;
  long queue = -1;
  rng = 0x9e3779b97f4a7c15ULL;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (value == NULL) {
      fprintf(stderr, "lkswarm-delay: %s needs a value\n", arg);
      return 2;
    }
    if (strcmp(arg, "--queue") == 0) queue = (long)number_arg(arg, value, 0, 65535);
    else if (strcmp(arg, "--delay-ms") == 0) delay_ms = number_arg(arg, value, 0, 60000);
    else if (strcmp(arg, "--jitter-ms") == 0) jitter_ms = number_arg(arg, value, 0, 60000);
    else if (strcmp(arg, "--seed") == 0) rng = (uint64_t)number_arg(arg, value, 1, 9007199254740991.0);
    else if (strcmp(arg, "--truth") == 0) truth_path = argv[i + 1];
    else if (strcmp(arg, "--name") == 0) {
      /* only read back from /proc/PID/cmdline: which fault this delayer is (a rollback finds it) */
    }
    else if (strcmp(arg, "--distribution") == 0) {
      if (strcmp(value, "normal") != 0 && strcmp(value, "uniform") != 0) {
        fprintf(stderr, "lkswarm-delay: --distribution %s: expected normal or uniform\n", value);
        return 2;
      }
      uniform_jitter = strcmp(value, "uniform") == 0;
    }
    else {
      fprintf(stderr, "lkswarm-delay: unknown option %s\n", arg);
      return 2;
    }
    i++;
  }
  if (queue < 0 || delay_ms < 0) {
    fprintf(stderr, "usage: lkswarm-delay --queue N --delay-ms D [--jitter-ms J] "
                    "[--distribution normal|uniform] [--seed S] [--truth FILE]\n");
    return 2;
  }
  queue_num = (uint16_t)queue;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  /* the signals stay blocked but inside ppoll, so one cannot slip in before it blocks */
  sigset_t stop_signals, during_poll;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, &during_poll);
  sigdelset(&during_poll, SIGTERM);
  sigdelset(&during_poll, SIGINT);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (truth_path != NULL && (truth = fopen(truth_path, "w")) == NULL) die(truth_path);

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) die("netlink socket");
  int size = 16 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl self = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&self, sizeof self) < 0) die("netlink bind");

  struct nfqnl_msg_config_cmd bind_cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET)};
  configure("binding the queue (is another program bound to it?)", NFQA_CFG_CMD, &bind_cmd,
            sizeof bind_cmd, 0, NULL, 0);
  struct nfqnl_msg_config_params params = {.copy_range = htonl(COPY_RANGE),
                                           .copy_mode = NFQNL_COPY_PACKET};
  configure("setting the copy mode", NFQA_CFG_PARAMS, &params, sizeof params, 0, NULL, 0);
  uint32_t maxlen = htonl(QUEUE_MAXLEN);
  configure("setting the queue length", NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen, 0, NULL, 0);
  uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
  configure("setting fail-open", NFQA_CFG_MASK, &flags, sizeof flags, NFQA_CFG_FLAGS, &flags,
            sizeof flags);

  /* an open socket asking for receive stamps turns on the kernel's stamping of every packet it
     receives (net_enable_timestamp), so a packet at the prerouting hook carries when it arrived
     and the queue hands that on (NFQA_TIMESTAMP); a packet this host sends carries none and is
     timed from when it was read */
  int stamping = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int on = 1;
  if (stamping < 0 || setsockopt(stamping, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
    fprintf(stderr, "lkswarm-delay: no kernel receive stamps (%s): packets are timed when read\n",
            strerror(errno));

  printf("ready\n");
  fflush(stdout);

  int64_t delay_ns = (int64_t)(delay_ms * 1e6), jitter_ns = (int64_t)(jitter_ms * 1e6);
  static char buf[BUF_SIZE];
  while (!stopping) {
    int64_t wait_ns = release_due(0);
    struct timespec timeout = {.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = ppoll(&pfd, 1, wait_ns >= 0 ? &timeout : NULL, &during_poll);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (ready == 0) continue;
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        /* the socket's buffer overflowed: the kernel dropped those packets; counted, go on */
        if (errno == ENOBUFS) {
          stats.lost_messages++;
          continue;
        }
        die("netlink receive");
      }
      int len = (int)n; /* signed: see configure() */
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if ((h->nlmsg_type & 0xff) == NFQNL_MSG_PACKET && (h->nlmsg_type >> 8) == NFNL_SUBSYS_QUEUE)
          on_packet(h, delay_ns, jitter_ns);
        else if (h->nlmsg_type == NLMSG_ERROR && ((struct nlmsgerr *)NLMSG_DATA(h))->error != 0)
          stats.verdict_errors++;
      }
    }
  }
  release_due(1);
  if (truth != NULL && fclose(truth) != 0) die(truth_path);
  double mean = stats.packets > 0 ? stats.hold_sum_ms / (double)stats.packets : 0;
  printf("{\"packets\":%llu,\"rtp\":%llu,\"holdMeanMs\":%.3f,\"holdMinMs\":%.3f,\"holdMaxMs\":%.3f,"
         "\"releasedEarly\":%llu,\"lostMessages\":%llu,\"verdictErrors\":%llu,\"kernelStamped\":%llu}\n",
         (unsigned long long)stats.packets, (unsigned long long)stats.rtp, mean,
         stats.packets > 0 ? stats.hold_min_ms : 0, stats.hold_max_ms,
         (unsigned long long)stats.released_early, (unsigned long long)stats.lost_messages,
         (unsigned long long)stats.verdict_errors, (unsigned long long)stats.kernel_stamped);
  return 0;
}
