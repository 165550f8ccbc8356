/*
 * lean-media: the lean engine's native media path (issue 51), a Node-API addon built with cc on
 * first use (packages/lean/src/native-media.ts). One thread per process wakes once per 20 ms tick
 * on a timerfd and writes every registered audio publisher's packet of that tick: the RTP header
 * from the stream's template, the Opus payload from a loop shared by every publisher of the same
 * file, sealed with SRTP AEAD_AES_128_GCM (RFC 7714) under the keys werift's DTLS exported, and
 * sent with one sendmmsg per socket. It reads the subscribers' sockets, counts their audio, sends
 * their receiver reports, the publishers' sender reports and our consent checks, and answers the
 * server's keepalives (below). JavaScript keeps signalling, ICE, DTLS, the rest of RTCP, consent's
 * expiry and what the thread does not carry (the datagrams werift writes on such a socket go out
 * through sendTo, one syscall without libuv), and reads what was sent from a per-stream slot (a
 * Float64Array it owns) under a sequence lock.
 *
 * The TypeScript path (direct-send.ts, srtp-gcm.ts) stays the fallback and the oracle: `seal` is
 * the test hook that must give GcmRtpSealer's bytes, and a packet written here must equal the one
 * the TypeScript path writes for the same stream, sequence number, timestamp and rollover counter.
 *
 * Linked against nothing but libc and pthreads: the OpenSSL (EVP) and Node-API symbols resolve from
 * the node executable when it loads the addon (node's own OpenSSL; linking libcrypto too would mix
 * two). Load it with RTLD_NOW so a node without them fails at load, not at a first call.
 */
#define _GNU_SOURCE
/* SHA1_Init and its kin: the HMAC keys below keep SHA-1 states, which EVP has no cheaper form of */
#define OPENSSL_SUPPRESS_DEPRECATED
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 20000000LL
#define MAX_BURST 5
#define MAX_HEADER 64
#define MAX_PAYLOAD 1400
#define TAG_BYTES 16
#define MAX_SENDERS 4096
#define MAX_LOOPS 64
#define BATCH 64
/* werift's rule for the rollover counter (lib/rtp/src/srtp/context/context.js) */
#define MAX_ROC_DISORDER 100
#define MAX_SEQUENCE 65535
#define MAX_SDES 272 /* an SDES packet of one chunk with a CNAME of up to 255 bytes */

/* The slot a stream's counts are read from: doubles, exact to 2^53. */
enum {
  SLOT_GEN,          /* odd while the thread writes the slot */
  SLOT_PACKETS,      /* packets sealed (sent or dropped) */
  SLOT_OCTETS,       /* their payload bytes, as RTCP sender reports count octets */
  SLOT_HEADER_BYTES, /* their RTP header bytes */
  SLOT_WIRE_BYTES,   /* header + sealed payload + tag */
  SLOT_SEQ,          /* the last sequence number written */
  SLOT_TS,           /* the last RTP timestamp written */
  SLOT_SENT_MS,      /* when the last packet went, CLOCK_MONOTONIC in ms (nowMs()) */
  SLOT_DROPPED,      /* packets the socket did not take (full buffer, or an error) */
  SLOT_ROC,          /* the SSRC's rollover counter after the last packet */
  SLOT_LAST_SEQ,     /* the last sequence number the counter saw (werift's lastSequenceNumber) */
  SLOT_SKIPPED,      /* ticks skipped after a stall longer than MAX_BURST periods */
  SLOT_TICK,         /* the next tick's n (to hand the stream on where it stands) */
  SLOT_SR_LSR,       /* the last sender report the thread sent: its compact NTP (werift's lastSRtimestamp), 0 before one */
  SLOT_SR_SENT_MS,   /* and when it went, nowMs() */
  SLOT_FIELDS
};

typedef struct {
  uint8_t **payload;
  uint16_t *bytes;
  uint32_t count;
} loop_t;

typedef struct {
  int used, paused;
  int fd; /* our dup of the socket's fd: a closed original cannot be reused under us */
  struct sockaddr_in to;
  uint8_t header[MAX_HEADER];
  uint32_t header_bytes;
  uint16_t seq;
  uint32_t ts, ts_step;
  uint64_t n; /* ticks since the stream started: the loop's index and the timestamp's */
  uint32_t ssrc, roc;
  uint16_t last_seq;
  int roc_processed;
  EVP_CIPHER_CTX *ctx;
  uint8_t salt[12];
  int loop;
  double *slot;
  napi_ref slot_ref;
  /* werift's sender reports of the stream, sent from here while `on` (sender_reports_due) */
  struct sender_report {
    int on;
    EVP_CIPHER_CTX *ctx; /* the transport's local SRTCP key, AES-128-GCM */
    uint8_t salt[12];
    uint32_t index;      /* the last SRTCP index sealed (werift's srtcpIndex for the SSRC) */
    double next_ms;      /* nowMs() of the next report */
    double epoch_ms;     /* Unix ms minus nowMs(): the clock werift's NTP times read */
    double packets, octets; /* werift's counts before this registration; the report adds the slot's */
    uint8_t sdes[MAX_SDES]; /* werift's SDES packet with the CNAME, sent after the report as werift does */
    int sdes_bytes;
    double sent;         /* reports sealed (and sent, or dropped by the kernel) since `on`; the last is in the slot */
  } report;
} sender_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static int running, timer_fd = -1, stop_fd = -1;
static sender_t senders[MAX_SENDERS];
static int sender_high; /* one past the highest slot in use */
static loop_t loops[MAX_LOOPS];
static int loop_count;
static uint64_t wakes, ticks_run, ticks_skipped;
/*
 * How late each tick ran: from when its timer expired (the epoch plus its number of periods) to
 * when this thread woke for it, in whole milliseconds, the last bucket LATE_BUCKETS - 1 ms or more
 * (where a stall's skipped ticks go too: never sent, not late). A tick run late sends its packets
 * that late, and its subscribers read that as the network's jitter: JavaScript folds each stats
 * window's ticks into the generator's own health (lateness()). Only ticks with a stream to send
 * count (a thread that only reads sockets times arrivals by the kernel's stamps, so its wait is in
 * no figure). The buckets add up from the addon's load; the epoch and the expirations restart with
 * each start().
 */
#define LATE_BUCKETS 101
static uint64_t late_ticks[LATE_BUCKETS];
static double timer_epoch_ms;
static uint64_t timer_expirations;
/*
 * The thread's own send jitter: RFC 3550's interarrival jitter (6.4.1) of its sends against their
 * 20 ms schedule, J += (|D| - J) / 16 with D = L(i) - L(i-1), the lateness of two ticks sent one
 * after the other, in ms. A subscriber's jitter is the same estimator over the same packets after
 * the server and the network: with both perfect, it reads this. A tick's lateness here is from its
 * expiry to when tick() began sending it (after the ticks before it in a burst), not to the wake.
 * Skipped ticks send nothing and do not count (their streams' clocks jump with their arrival); an
 * idle spell (no stream to send) starts the next D afresh. Negative until a second tick was sent
 * since the addon loaded.
 */
static double send_jitter_ms = -1;
static double last_sent_late_ms;
static int last_sent_valid;

/*
 * Receiving: a subscriber's socket is read here once per tick (recvmmsg) instead of by libuv per
 * datagram. RTP of a registered SSRC from the selected pair's remote is reduced to the header
 * fields the counters read (record RTP); everything else (STUN, DTLS, RTCP, another SSRC, and a
 * registered SSRC from another address, which the TypeScript tap drops or takes by the pair it
 * follows live, where the remote here is the last check's) goes back whole (record RAW) for
 * JavaScript to hand to the socket's listeners. Every
 * record carries the kernel's arrival time (SO_TIMESTAMPNS), on nowMs()'s clock, so a batch's
 * delay is in no jitter or round trip. One batch per tick goes to JavaScript in one call.
 */
#define MAX_RECEIVERS 4096
#define MAX_RECEIVER_SSRCS 16
#define MAX_REPORT_STREAMS 4
#define RECV_BATCH 32
#define RECV_BYTES 2048
enum { RECORD_RTP = 1, RECORD_RAW = 2 };
#define RTP_RECORD_BYTES 32
#define RAW_RECORD_BYTES 24

/*
 * An HMAC-SHA1 key (RFC 2104) as the SHA-1 states after its inner and outer pads: a MAC is then
 * two SHA-1 updates from copies of them. OpenSSL's one-shot HMAC() fetched the digest and set the
 * key up again for each message: 6-13 us a MAC by perf at 30 audio rooms, where the thread makes
 * about 200 a second (keepalives checked and answered, consent requests and answers); about 1 us
 * this way.
 */
typedef struct {
  int ready;
  SHA_CTX inner, outer;
} hmac_key_t;

/* The local ICE credentials a keepalive is checked and answered with (binding.ts's, werift's). */
#define MAX_ICE_CREDENTIAL 256
typedef struct {
  int on;
  int controlling; /* werift's iceControlling: the publisher PeerConnection's ICE agent controls */
  size_t ufrag_bytes, password_bytes;
  uint8_t ufrag[MAX_ICE_CREDENTIAL];
  uint8_t password[MAX_ICE_CREDENTIAL];
  hmac_key_t key; /* the password's, set by credentials_keyed */
} stun_credentials_t;

/*
 * ICE consent freshness (RFC 7675) on the selected pair of a socket this thread reads: JavaScript's
 * consent.ts hands the checks over (checkConsent) with a request it wrote; the thread sends it
 * under a fresh transaction id when due and takes its answer. See consent_due.
 */
#define MAX_CONSENT_REQUEST 640
typedef struct {
  int on;
  /* consent.ts's request: USERNAME, PRIORITY, the ICE role, MESSAGE-INTEGRITY, FINGERPRINT; the
     last two are written again for each transaction id */
  uint8_t request[MAX_CONSENT_REQUEST];
  size_t request_bytes;
  stun_credentials_t remote; /* the remote password: the request's and its answer's HMAC key */
  uint32_t address;          /* the pair's remote, host order */
  uint16_t port;
  double next_ms;            /* nowMs() of the next request */
  int outstanding;           /* a request not answered yet: only the last one is */
  uint8_t transaction[12];
  double sent_ms;
  /* JavaScript's Float64Array(CS_FIELDS), written under the sequence lock; NULL when off */
  double *state;
  napi_ref state_ref;
} consent_t;
/* consent_t.state's fields: requests sent, answers taken, the last answer's arrival (nowMs()), its
   round trip and the sum of them all (ms); whether the last request is unanswered, when it went
   (nowMs()) and its transaction id as three big-endian uint32s, for JavaScript to take its answer
   once the thread lets go */
enum {
  CS_GEN,
  CS_REQUESTS,
  CS_ANSWERS,
  CS_ANSWERED_MS,
  CS_RTT_MS,
  CS_RTT_SUM_MS,
  CS_OUTSTANDING,
  CS_SENT_MS,
  CS_TRANSACTION,
  CS_FIELDS = CS_TRANSACTION + 3
};

typedef struct {
  int used;
  int fd; /* our dup of the socket's fd */
  uint32_t remote_address; /* host order */
  uint16_t remote_port;
  uint32_t ssrc[MAX_RECEIVER_SSRCS];
  uint8_t tag_bytes[MAX_RECEIVER_SSRCS];
  /* a stream counted here (its counters' slot, JavaScript's Float64Array), or NULL: a record a packet */
  double *counts[MAX_RECEIVER_SSRCS];
  napi_ref counts_ref[MAX_RECEIVER_SSRCS];
  int ssrc_count;
  uint8_t payload_types[16]; /* a bit per RTP payload type read header-only */
  /* werift receivers whose reports this thread sends (report_due), each for its streams here */
  struct reporter {
    int used;
    uint32_t rtcp_ssrc;          /* the werift receiver's: the report's sender, the SRTCP index's SSRC */
    int stream[MAX_REPORT_STREAMS]; /* indices into ssrc[] and counts[], in werift's order */
    int stream_count;
    EVP_CIPHER_CTX *ctx;         /* the local SRTCP key, AES-128-GCM */
    uint8_t salt[12];
    uint32_t index;              /* the last SRTCP index sealed (werift's srtcpIndex for rtcp_ssrc) */
    double next_ms;              /* nowMs() of the next report */
  } reporters[MAX_RECEIVER_SSRCS];
  stun_credentials_t stun; /* the server's keepalives on the selected pair, answered here when set */
  /* JavaScript's Float64Array(1): the keepalives answered, which JavaScript reads without the lock
     (an aligned double is written whole); NULL when not answering */
  double *stun_answered;
  napi_ref stun_answered_ref;
  /* the server's RTCP this thread takes instead of handing it on (take_rtcp): TAKE_* bits, and the
     remote SRTCP key it is opened with; 0 and NULL when it takes none */
  int rtcp_takes;
  EVP_CIPHER_CTX *rtcp_open;
  uint8_t rtcp_salt[12];
  consent_t consent;
} receiver_t;
/* what take_rtcp takes: sender reports of streams whose receiver reports this thread sends, and the
   server's receiver reports and XR to a publisher whose round trip is not read from them */
enum { TAKE_SENDER_REPORTS = 1, TAKE_PUBLISHER_FEEDBACK = 2 };

/*
 * A received stream's counters, kept here while its socket is (native-counts.ts hands them over
 * and takes them back): InboundStream's (packages/lean/src/inbound.ts) and werift's receiver
 * statistics' (StreamStatistics.add, as stream-statistics.ts ports it), with the same arithmetic
 * in doubles so that the figures are the TypeScript path's to the bit. JavaScript reads the slot
 * under the sequence lock when it needs a figure (a stats window, a receiver report); a packet
 * writes no record, except the one in about 50 that werift's SRTP rollover state must see.
 * Undefined values are NaN.
 */
enum {
  RS_GEN,
  RS_IN_STARTED,
  RS_IN_BASE,
  RS_IN_MAX,
  RS_IN_CYCLES,
  RS_IN_EXPECTED_BEFORE,
  RS_IN_RESTART_AT,
  RS_IN_RECEIVED,
  RS_IN_BYTES,
  RS_IN_HEADER_BYTES,
  RS_IN_JITTER,
  RS_IN_LAST_TRANSIT,
  RS_IN_LAST_TS,
  RS_IN_FIRST_MS,
  RS_IN_RATE,
  RS_W_BASE,
  RS_W_MAX,
  RS_W_CYCLES,
  RS_W_PACKETS,
  RS_W_BYTES,
  RS_W_HEADER_BYTES,
  RS_W_LAST_RECEIVED,
  RS_W_RATE,
  RS_W_JITTER_Q4,
  RS_W_LAST_ARRIVAL,
  RS_W_LAST_TS,
  RS_OFFSET,       /* performance.now() minus nowMs(): arrivals in the performance clock */
  RS_ORIGIN,       /* performance.timeOrigin: werift's clock is epoch seconds */
  RS_THREAD_PACKETS, /* datagrams this thread counted (the rest came through JavaScript) */
  RS_THREAD_WIRE_BYTES,
  /* the stream's receiver report block (receiver_report): werift's fraction-lost priors, which a
     report moves on, and the last sender report's LSR (0: none) and arrival (nowMs()) */
  RS_W_EXPECTED_PRIOR,
  RS_W_RECEIVED_PRIOR,
  RS_W_LSR,
  RS_W_SR_ARRIVAL_MS,
  RS_FIELDS
};
/* which counters a packet given by JavaScript goes into (countReceived) */
enum { COUNT_INBOUND = 1, COUNT_WERIFT = 2 };
/* InboundStream's RFC 3550 A.1 bounds */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

static receiver_t receivers[MAX_RECEIVERS];
static int receiver_high;
/* where the next receiver id is looked for: ids go round, so a batch still queued for a released
 * id is not read as a new receiver's */
static int receiver_next;
static napi_threadsafe_function delivered;
static int delivering;
static uint8_t *batch;
static size_t batch_bytes, batch_capacity;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void roc_update(sender_t *s, uint16_t seq) {
  if (!s->roc_processed)
    s->roc_processed = 1;
  else if (seq == 0) {
    if (s->last_seq > MAX_ROC_DISORDER) s->roc++;
  } else if (s->last_seq < MAX_ROC_DISORDER && seq > MAX_SEQUENCE - MAX_ROC_DISORDER) {
    if (s->roc > 0) s->roc--;
  } else if (seq < MAX_ROC_DISORDER && s->last_seq > MAX_SEQUENCE - MAX_ROC_DISORDER)
    s->roc++;
  s->last_seq = seq;
}

/* RFC 7714 section 8.1: salt XOR 00 00 | SSRC | ROC | SEQ, SSRC and SEQ from the header. */
static void rtp_iv(uint8_t iv[12], const uint8_t salt[12], const uint8_t *header, uint32_t roc) {
  iv[0] = 0;
  iv[1] = 0;
  memcpy(iv + 2, header + 8, 4);
  iv[6] = roc >> 24;
  iv[7] = roc >> 16;
  iv[8] = roc >> 8;
  iv[9] = roc;
  memcpy(iv + 10, header + 2, 2);
  for (int i = 0; i < 12; i++) iv[i] ^= salt[i];
}

/* Seals `payload` after `header` into `out` (payload bytes then the tag); 0 on success. */
static int seal(EVP_CIPHER_CTX *ctx, const uint8_t salt[12], const uint8_t *header, int header_bytes,
                const uint8_t *payload, int payload_bytes, uint32_t roc, uint8_t *out) {
  uint8_t iv[12];
  int n = 0;
  rtp_iv(iv, salt, header, roc);
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_EncryptUpdate(ctx, NULL, &n, header, header_bytes) != 1) return -1;
  if (EVP_EncryptUpdate(ctx, out, &n, payload, payload_bytes) != 1 || n != payload_bytes) return -1;
  if (EVP_EncryptFinal_ex(ctx, out + n, &n) != 1) return -1;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + payload_bytes) == 1 ? 0 : -1;
}

/* RFC 7714 section 9.1: salt XOR 00 00 | SSRC | 00 00 | SRTCP index (31 bits), as werift's rtcpInitializationVector. */
static void rtcp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc, uint32_t index) {
  uint8_t raw[12] = {0, 0, ssrc >> 24, ssrc >> 16, ssrc >> 8, ssrc, 0, 0, index >> 24, index >> 16, index >> 8, index};
  for (int i = 0; i < 12; i++) iv[i] = raw[i] ^ salt[i];
}

/*
 * Seals an RTCP compound packet (`bytes` >= 8) as SRTCP with AEAD_AES_128_GCM (RFC 7714 section
 * 9, werift's GcmCipher.encryptRTCP): its first 8 bytes in the clear, the rest encrypted, the tag,
 * then the E flag and the 31-bit index, which with the first 8 bytes is the associated data. The
 * SSRC of the IV is the first packet's sender. Writes bytes + TAG_BYTES + 4 into `out`; 0 on success.
 */
static int seal_rtcp(EVP_CIPHER_CTX *ctx, const uint8_t salt[12], const uint8_t *packet, int bytes, uint32_t index,
                     uint8_t *out) {
  uint8_t iv[12], aad[12];
  int n = 0;
  if (bytes < 8) return -1;
  uint32_t ssrc = (uint32_t)packet[4] << 24 | (uint32_t)packet[5] << 16 | (uint32_t)packet[6] << 8 | packet[7];
  uint32_t e_index = 0x80000000u | (index & 0x7fffffffu);
  rtcp_iv(iv, salt, ssrc, index & 0x7fffffffu);
  memcpy(aad, packet, 8);
  aad[8] = e_index >> 24;
  aad[9] = e_index >> 16;
  aad[10] = e_index >> 8;
  aad[11] = e_index;
  memcpy(out, packet, 8);
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_EncryptUpdate(ctx, NULL, &n, aad, 12) != 1) return -1;
  if (EVP_EncryptUpdate(ctx, out + 8, &n, packet + 8, bytes - 8) != 1 || n != bytes - 8) return -1;
  if (EVP_EncryptFinal_ex(ctx, out + 8 + n, &n) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + bytes) != 1) return -1;
  memcpy(out + bytes + TAG_BYTES, aad + 8, 4);
  return 0;
}

/*
 * Opens an SRTCP packet sealed with AEAD_AES_128_GCM (RFC 7714 section 9, werift's
 * GcmCipher.decryptRTCP): `bytes` >= 8 + TAG_BYTES + 4 with the E flag set; writes the plain
 * compound packet (bytes - TAG_BYTES - 4: the first 8 bytes as they came, the rest opened) into
 * `out`. 0 on success; -1 when it is not one (no E flag, too short) or does not authenticate.
 */
static int open_rtcp(EVP_CIPHER_CTX *ctx, const uint8_t salt[12], const uint8_t *packet, int bytes, uint8_t *out) {
  uint8_t iv[12], aad[12];
  int n = 0, body = bytes - TAG_BYTES - 4;
  if (body < 8) return -1;
  const uint8_t *trailer = packet + bytes - 4;
  uint32_t e_index = (uint32_t)trailer[0] << 24 | (uint32_t)trailer[1] << 16 | (uint32_t)trailer[2] << 8 | trailer[3];
  if (!(e_index & 0x80000000u)) return -1;
  uint32_t ssrc = (uint32_t)packet[4] << 24 | (uint32_t)packet[5] << 16 | (uint32_t)packet[6] << 8 | packet[7];
  rtcp_iv(iv, salt, ssrc, e_index & 0x7fffffffu);
  memcpy(aad, packet, 8);
  memcpy(aad + 8, trailer, 4);
  memcpy(out, packet, 8);
  if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_DecryptUpdate(ctx, NULL, &n, aad, 12) != 1) return -1;
  if (EVP_DecryptUpdate(ctx, out + 8, &n, packet + 8, body - 8) != 1 || n != body - 8) return -1;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, (void *)(packet + body)) != 1) return -1;
  return EVP_DecryptFinal_ex(ctx, out + 8 + n, &n) == 1 ? 0 : -1;
}

/* An AES-128-GCM context with `key` and 12-byte IVs, for sealing (`sealing` 1) or opening (0); NULL when OpenSSL has none. */
static EVP_CIPHER_CTX *gcm_context_for(const uint8_t key[16], int sealing) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL) return NULL;
  if (EVP_CipherInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL, sealing) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
      EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, sealing) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static EVP_CIPHER_CTX *gcm_context(const uint8_t key[16]) { return gcm_context_for(key, 1); }

/* Sequence lock: the generation is odd while the fields change (JS retries on odd or changed). */
static void slot_open(double *slot) {
  slot[SLOT_GEN] += 1;
  __atomic_thread_fence(__ATOMIC_RELEASE);
}
static void slot_close(double *slot) {
  __atomic_thread_fence(__ATOMIC_RELEASE);
  slot[SLOT_GEN] += 1;
}

/* One packet per sending stream per tick; packets on one socket go in one sendmmsg. */
static uint8_t wire[BATCH][MAX_HEADER + MAX_PAYLOAD + TAG_BYTES];

static void flush(int fd, struct mmsghdr *msgs, sender_t **who, int count, double sent_ms) {
  int sent = 0;
  while (sent < count) {
    int r = sendmmsg(fd, msgs + sent, count - sent, MSG_DONTWAIT);
    if (r <= 0) break; /* a full buffer: the rest are dropped, not retried (a late packet is worse) */
    sent += r;
  }
  for (int i = 0; i < count; i++) {
    double *slot = who[i]->slot;
    slot_open(slot);
    if (i >= sent) slot[SLOT_DROPPED] += 1;
    slot[SLOT_SENT_MS] = sent_ms;
    slot_close(slot);
  }
}

/* Ticks a stall made too late to send: every stream's clock moves on by `count` in one pass. */
static void skip(uint64_t count) {
  for (int i = 0; i < sender_high; i++) {
    sender_t *s = &senders[i];
    if (!s->used) continue;
    s->n += count;
    slot_open(s->slot);
    s->slot[SLOT_SKIPPED] += (double)count;
    s->slot[SLOT_TICK] = (double)s->n;
    slot_close(s->slot);
  }
}

/* One tick: every stream's next packet, sealed and sent; returns when it began (now_ms()). */
static double tick(void) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  sender_t *who[BATCH];
  int count = 0, fd = -1;
  double at = now_ms();
  for (int i = 0; i < sender_high; i++) {
    sender_t *s = &senders[i];
    if (!s->used) continue;
    const loop_t *loop = &loops[s->loop];
    uint32_t index = (uint32_t)(s->n % loop->count);
    uint32_t ts = s->ts + (uint32_t)(s->n * s->ts_step);
    int marker = s->n == 0;
    s->n++;
    if (s->paused) {
      slot_open(s->slot);
      s->slot[SLOT_TICK] = (double)s->n;
      slot_close(s->slot);
      continue;
    }
    if (count == BATCH || (count > 0 && s->fd != fd)) {
      flush(fd, msgs, who, count, at);
      count = 0;
    }
    fd = s->fd;
    uint8_t *out = wire[count];
    uint16_t seq = s->seq;
    memcpy(out, s->header, s->header_bytes);
    if (marker) out[1] |= 0x80;
    out[2] = seq >> 8;
    out[3] = seq;
    out[4] = ts >> 24;
    out[5] = ts >> 16;
    out[6] = ts >> 8;
    out[7] = ts;
    roc_update(s, seq);
    int bytes = loop->bytes[index];
    if (seal(s->ctx, s->salt, out, s->header_bytes, loop->payload[index], bytes, s->roc,
             out + s->header_bytes) != 0)
      continue;
    s->seq = (uint16_t)(seq + 1);
    int wire_bytes = s->header_bytes + bytes + TAG_BYTES;
    slot_open(s->slot);
    s->slot[SLOT_PACKETS] += 1;
    s->slot[SLOT_OCTETS] += bytes;
    s->slot[SLOT_HEADER_BYTES] += s->header_bytes;
    s->slot[SLOT_WIRE_BYTES] += wire_bytes;
    s->slot[SLOT_SEQ] = seq;
    s->slot[SLOT_TS] = ts;
    s->slot[SLOT_ROC] = s->roc;
    s->slot[SLOT_LAST_SEQ] = s->last_seq;
    s->slot[SLOT_TICK] = (double)s->n;
    slot_close(s->slot);
    iov[count] = (struct iovec){.iov_base = out, .iov_len = (size_t)wire_bytes};
    msgs[count] = (struct mmsghdr){0};
    msgs[count].msg_hdr.msg_name = &s->to;
    msgs[count].msg_hdr.msg_namelen = sizeof s->to;
    msgs[count].msg_hdr.msg_iov = &iov[count];
    msgs[count].msg_hdr.msg_iovlen = 1;
    who[count++] = s;
  }
  if (count > 0) flush(fd, msgs, who, count, at);
  return at;
}


static uint8_t *batch_room(size_t bytes) {
  if (batch_bytes + bytes > batch_capacity) {
    size_t capacity = batch_capacity == 0 ? 65536 : batch_capacity;
    while (capacity < batch_bytes + bytes) capacity *= 2;
    uint8_t *grown = realloc(batch, capacity);
    if (grown == NULL) return NULL;
    batch = grown;
    batch_capacity = capacity;
  }
  uint8_t *at = batch + batch_bytes;
  batch_bytes += bytes;
  return at;
}

/* An RTP header's size (fixed part, CSRCs, extension); -1 when padded, not version 2 or too short. */
static int rtp_header_size(const uint8_t *p, size_t length) {
  if (length < 12 || p[0] >> 6 != 2 || (p[0] & 0x20) != 0) return -1;
  size_t header = 12 + 4 * (size_t)(p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (length < header + 4) return -1;
    header += 4 + 4 * (size_t)((p[header + 2] << 8) | p[header + 3]);
  }
  return length < header ? -1 : (int)header;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int is_nan(double x) { return x != x; }
static int is_finite(double x) { return x - x == 0; }
static double absolute(double x) { return x < 0 ? -x : x; }
/* JavaScript's ToInt32 of an integer-valued double (|x| < 2^63) */
static int32_t to_int32(double x) { return (int32_t)(uint32_t)(uint64_t)(int64_t)x; }

/* InboundStream.onPacket */
static void inbound_count_bytes(double *s, double payload, double header) {
  s[RS_IN_RECEIVED] += 1;
  s[RS_IN_BYTES] += payload;
  s[RS_IN_HEADER_BYTES] += header; /* NaN (undefined) stays so */
}
static void inbound_packet(double *s, uint16_t seq, uint32_t ts, double payload, double header, double arrival_ms) {
  if (s[RS_IN_STARTED] == 0) {
    s[RS_IN_STARTED] = 1;
    s[RS_IN_BASE] = seq;
    s[RS_IN_MAX] = seq;
    s[RS_IN_FIRST_MS] = arrival_ms;
  } else {
    double forward = (double)((seq - (int64_t)s[RS_IN_MAX] + 65536) % 65536);
    if (forward != 0 && forward < MAX_DROPOUT) {
      if (seq < s[RS_IN_MAX]) s[RS_IN_CYCLES] += 65536;
      s[RS_IN_MAX] = seq;
      s[RS_IN_RESTART_AT] = NAN;
    } else if (forward >= MAX_DROPOUT && forward <= 65536 - MAX_MISORDER) {
      if (seq == s[RS_IN_RESTART_AT]) {
        s[RS_IN_EXPECTED_BEFORE] += s[RS_IN_CYCLES] + s[RS_IN_MAX] - s[RS_IN_BASE] + 1;
        s[RS_IN_BASE] = seq - 1.0;
        s[RS_IN_MAX] = seq;
        s[RS_IN_CYCLES] = 0;
        s[RS_IN_RESTART_AT] = NAN;
        s[RS_IN_LAST_TRANSIT] = NAN;
      } else {
        s[RS_IN_RESTART_AT] = (seq + 1) % 65536;
        inbound_count_bytes(s, payload, header);
        return;
      }
    } else {
      inbound_count_bytes(s, payload, header);
      return;
    }
  }
  inbound_count_bytes(s, payload, header);
  double arrival = (arrival_ms * s[RS_IN_RATE]) / 1000;
  double transit = arrival - ts;
  if (!is_nan(s[RS_IN_LAST_TRANSIT]) && ts != s[RS_IN_LAST_TS]) {
    double d = absolute(transit - s[RS_IN_LAST_TRANSIT]);
    if (d > 2147483648.0) d = 4294967296.0 - d;
    s[RS_IN_JITTER] += (d - s[RS_IN_JITTER]) / 16;
  }
  s[RS_IN_LAST_TRANSIT] = transit;
  s[RS_IN_LAST_TS] = ts;
}

/* werift's uint16Gt */
static int u16_after(double a, double b) { return (a < b && b - a > 0x8000) || (a > b && a - b < 0x8000); }

/* werift's StreamStatistics.add; `received_ms` is its lastPacketReceivedTimestamp (epoch ms, now) */
static void werift_packet(double *s, uint16_t seq, uint32_t ts, double header, double payload, double now_s,
                          double received_ms) {
  double max = s[RS_W_MAX];
  int in_order = is_nan(max) || u16_after(seq, max);
  s[RS_W_PACKETS] += 1;
  s[RS_W_BYTES] += payload;
  s[RS_W_HEADER_BYTES] += header;
  s[RS_W_LAST_RECEIVED] = received_ms;
  if (is_nan(s[RS_W_BASE])) s[RS_W_BASE] = seq;
  if (!in_order) return;
  double arrival = (double)(int64_t)(now_s * s[RS_W_RATE]);
  if (!is_nan(max) && seq < max) s[RS_W_CYCLES] += 65536;
  s[RS_W_MAX] = seq;
  if (ts != s[RS_W_LAST_TS] && s[RS_W_PACKETS] > 1) {
    double last_arrival = is_nan(s[RS_W_LAST_ARRIVAL]) ? 0 : s[RS_W_LAST_ARRIVAL];
    double last_ts = is_nan(s[RS_W_LAST_TS]) ? 0 : s[RS_W_LAST_TS];
    double diff = absolute(arrival - last_arrival - (ts - last_ts));
    s[RS_W_JITTER_Q4] += diff - (double)(to_int32(s[RS_W_JITTER_Q4] + 8) >> 4);
  }
  s[RS_W_LAST_ARRIVAL] = arrival;
  s[RS_W_LAST_TS] = ts;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/*
 * One report block (RFC 3550 6.4.1) of werift's receiver report for a counted stream, as
 * report-clock.ts receiverReport builds it from werift's StreamStatistics at `now_ms` (nowMs()):
 * fraction lost over the interval since the last report (which moves the priors on, as werift's
 * getter does), cumulative lost (never below 0), highest sequence number (werift's max_seq, without
 * the cycles), interarrival jitter (jitter_q4 >> 4), and LSR and DLSR from the last sender report.
 * The same double arithmetic as werift's, in JavaScript's int32 where it shifts. Where werift's
 * writer would throw (cumulative lost over 2^24 - 1), the figure is clamped as RFC 3550 says.
 */
static void report_block(uint8_t out[24], uint32_t ssrc, double *s, double now_ms) {
  double max = is_nan(s[RS_W_MAX]) ? 0 : s[RS_W_MAX];
  double base = is_nan(s[RS_W_BASE]) ? 0 : s[RS_W_BASE];
  double expected = s[RS_W_CYCLES] + max - base + 1;
  double expected_interval = expected - s[RS_W_EXPECTED_PRIOR];
  s[RS_W_EXPECTED_PRIOR] = expected;
  double received_interval = s[RS_W_PACKETS] - s[RS_W_RECEIVED_PRIOR];
  s[RS_W_RECEIVED_PRIOR] = s[RS_W_PACKETS];
  double lost_interval = expected_interval - received_interval;
  double fraction = 0;
  if (!(expected_interval == 0 || lost_interval <= 0))
    fraction = floor((double)(int32_t)((uint32_t)to_int32(lost_interval) << 8) / expected_interval);
  double lost = expected - s[RS_W_PACKETS];
  if (lost < 0) lost = 0;
  if (lost > 0xffffff) lost = 0xffffff;
  double lsr = s[RS_W_LSR], dlsr = 0;
  if (is_nan(lsr) || lsr == 0)
    lsr = 0;
  else {
    double delay_s = now_ms / 1000 - (is_nan(s[RS_W_SR_ARRIVAL_MS]) ? 0 : s[RS_W_SR_ARRIVAL_MS] / 1000);
    if (delay_s > 0 && delay_s < 65536) dlsr = trunc(delay_s * 65536);
  }
  put32(out, ssrc);
  put32(out + 4, (uint32_t)lost);
  /* 0-255 from any counts werift takes; outside, where werift's writer would throw, clamped */
  out[4] = fraction < 0 ? 0 : fraction > 255 ? 255 : (uint8_t)fraction;
  put32(out + 8, (uint32_t)(uint64_t)max);
  put32(out + 12, (uint32_t)(to_int32(s[RS_W_JITTER_Q4]) >> 4));
  put32(out + 16, (uint32_t)(uint64_t)lsr);
  put32(out + 20, (uint32_t)(uint64_t)dlsr);
}

/* werift's receiver report for `rtcp_ssrc` with a block per stream (at most 31): its length in bytes. */
static int receiver_report(uint8_t *out, uint32_t rtcp_ssrc, int n, const uint32_t *ssrcs, double *const *slots,
                           double now_ms) {
  if (n > 31) n = 31;
  int bytes = 8 + 24 * n;
  out[0] = 0x80 | (uint8_t)n;
  out[1] = 201;
  out[2] = (uint8_t)((bytes / 4 - 1) >> 8);
  out[3] = (uint8_t)(bytes / 4 - 1);
  put32(out + 4, rtcp_ssrc);
  for (int i = 0; i < n; i++) report_block(out + 8 + 24 * i, ssrcs[i], slots[i], now_ms);
  return bytes;
}

/*
 * The server's STUN keepalives (issue 51). LiveKit's ICE agent sends a binding request on each
 * selected pair every 2 s; packages/lean/src/binding.ts answers one in JavaScript once it is sure of
 * it, and on a socket this thread reads the thread answers it here instead, with the same checks
 * and the same 64 bytes: binding.ts's keepaliveRequest and bindingSuccess, which the tests hold
 * this to. Answered: a binding request (magic cookie, its length the datagram's) from the selected
 * pair's remote whose USERNAME is `<local ufrag>:...`, whose MESSAGE-INTEGRITY (only FINGERPRINT
 * after it) is the HMAC-SHA1 of the message with the local password, with no USE-CANDIDATE and no
 * claim to our ICE role. Everything else goes on to JavaScript as before.
 */
#define STUN_HEADER 20
#define STUN_COOKIE 0x2112a442u
#define STUN_USERNAME 0x0006
#define STUN_MESSAGE_INTEGRITY 0x0008
#define STUN_XOR_MAPPED_ADDRESS 0x0020
#define STUN_USE_CANDIDATE 0x0025
#define STUN_FINGERPRINT 0x8028
#define STUN_ICE_CONTROLLED 0x8029
#define STUN_ICE_CONTROLLING 0x802a
#define STUN_FINGERPRINT_XOR 0x5354554eu
#define STUN_HMAC_BYTES 20
#define STUN_ANSWER_BYTES 64
static uint64_t stun_answers;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v;
}

/* CRC-32 (ISO-HDLC, zlib's crc32), for FINGERPRINT; its table built once, whichever thread asks first */
static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void build_crc_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32_of(const uint8_t *p, size_t n) {
  pthread_once(&crc_table_once, build_crc_table);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

/* `k` for `key` (RFC 2104: a key over SHA-1's 64-byte block is hashed first). */
static void hmac_key(hmac_key_t *k, const uint8_t *key, size_t bytes) {
  uint8_t block[64] = {0}, pad[64];
  if (bytes > sizeof block) {
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, key, bytes);
    SHA1_Final(block, &c);
  } else if (bytes > 0)
    memcpy(block, key, bytes);
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = block[i] ^ 0x36;
  SHA1_Init(&k->inner);
  SHA1_Update(&k->inner, pad, sizeof pad);
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = block[i] ^ 0x5c;
  SHA1_Init(&k->outer);
  SHA1_Update(&k->outer, pad, sizeof pad);
  k->ready = 1;
}

/* `c`'s HMAC key from its password: call once the password is set. */
static void credentials_keyed(stun_credentials_t *c) { hmac_key(&c->key, c->password, c->password_bytes); }

/*
 * The HMAC-SHA1 of `message`'s first `integrity_at` bytes with the header's length counting to the
 * end of MESSAGE-INTEGRITY (RFC 5389 15.4), keyed with `c`'s password; 0 when done.
 */
static int stun_hmac(const stun_credentials_t *c, const uint8_t *message, size_t integrity_at,
                     uint8_t out[STUN_HMAC_BYTES]) {
  if (integrity_at < STUN_HEADER || integrity_at > RECV_BYTES) return -1;
  hmac_key_t unset;
  const hmac_key_t *k = &c->key;
  if (!k->ready) {
    hmac_key(&unset, c->password, c->password_bytes);
    k = &unset;
  }
  uint8_t header[STUN_HEADER], inner[STUN_HMAC_BYTES];
  memcpy(header, message, STUN_HEADER);
  put16(header + 2, (uint16_t)(integrity_at + 4 + STUN_HMAC_BYTES - STUN_HEADER));
  SHA_CTX h = k->inner;
  SHA1_Update(&h, header, STUN_HEADER);
  SHA1_Update(&h, message + STUN_HEADER, integrity_at - STUN_HEADER);
  SHA1_Final(inner, &h);
  h = k->outer;
  SHA1_Update(&h, inner, sizeof inner);
  SHA1_Final(out, &h);
  return 0;
}

/* Whether `p` is a keepalive this thread answers for `c` (binding.ts keepaliveRequest). */
static int keepalive_request(const uint8_t *p, size_t length, const stun_credentials_t *c) {
  if (length < STUN_HEADER || be16(p) != 0x0001 || be32(p + 4) != STUN_COOKIE ||
      STUN_HEADER + (size_t)be16(p + 2) != length)
    return 0;
  int username_ok = 0;
  long integrity = -1;
  for (size_t at = STUN_HEADER; at < length;) {
    if (at + 4 > length) return 0;
    uint16_t type = be16(p + at), bytes = be16(p + at + 2);
    size_t value = at + 4;
    if (value + bytes > length) return 0;
    if (integrity >= 0 && type != STUN_FINGERPRINT) return 0; /* only FINGERPRINT may follow it */
    if (type == STUN_USE_CANDIDATE || type == (c->controlling ? STUN_ICE_CONTROLLING : STUN_ICE_CONTROLLED)) return 0;
    if (type == STUN_USERNAME)
      username_ok = bytes > c->ufrag_bytes && memcmp(p + value, c->ufrag, c->ufrag_bytes) == 0 &&
                    p[value + c->ufrag_bytes] == ':';
    else if (type == STUN_MESSAGE_INTEGRITY) {
      if (bytes != STUN_HMAC_BYTES) return 0;
      integrity = (long)at;
    }
    at = value + bytes + (4 - bytes % 4) % 4;
  }
  uint8_t mac[STUN_HMAC_BYTES];
  return username_ok && integrity >= 0 && stun_hmac(c, p, (size_t)integrity, mac) == 0 &&
         CRYPTO_memcmp(mac, p + integrity + 4, STUN_HMAC_BYTES) == 0;
}

/*
 * The success response to the request `p` from `address`:`port` (host order): XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY, FINGERPRINT (binding.ts bindingSuccess); 0 when done.
 */
static int binding_success(const uint8_t *p, uint32_t address, uint16_t port, const stun_credentials_t *c,
                           uint8_t out[STUN_ANSWER_BYTES]) {
  memset(out, 0, STUN_ANSWER_BYTES);
  put16(out, 0x0101);
  put32(out + 4, STUN_COOKIE);
  memcpy(out + 8, p + 8, 12);
  put16(out + 20, STUN_XOR_MAPPED_ADDRESS);
  put16(out + 22, 8);
  out[25] = 0x01; /* IPv4 */
  put16(out + 26, port ^ (uint16_t)(STUN_COOKIE >> 16));
  put32(out + 28, address ^ STUN_COOKIE);
  put16(out + 32, STUN_MESSAGE_INTEGRITY);
  put16(out + 34, STUN_HMAC_BYTES);
  if (stun_hmac(c, out, 32, out + 36) != 0) return -1;
  put16(out + 2, STUN_ANSWER_BYTES - STUN_HEADER);
  put16(out + 56, STUN_FINGERPRINT);
  put16(out + 58, 4);
  put32(out + 60, crc32_of(out, 56) ^ STUN_FINGERPRINT_XOR);
  return 0;
}

/* Answers `p` on `r`'s socket when it is a keepalive from the selected pair's remote; 1 when answered. */
static int answer_keepalive(receiver_t *r, const uint8_t *p, size_t length, uint32_t address, uint16_t port) {
  uint8_t answer[STUN_ANSWER_BYTES];
  if (!r->stun.on || r->stun_answered == NULL || length < 2 || p[0] != 0x00 || p[1] != 0x01 ||
      address != r->remote_address || port != r->remote_port || !keepalive_request(p, length, &r->stun) ||
      binding_success(p, address, port, &r->stun, answer) != 0)
    return 0;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address)};
  /* a full socket buffer: JavaScript answers it, as it would have */
  if (sendto(r->fd, answer, sizeof answer, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to) !=
      (ssize_t)sizeof answer)
    return 0;
  r->stun_answered[0] += 1;
  stun_answers++;
  return 1;
}

static int take_rtcp(receiver_t *r, const uint8_t *p, size_t length, uint32_t address, uint16_t port,
                     double arrival_ms);
static int take_consent_answer(receiver_t *r, const uint8_t *p, size_t length, uint32_t address, uint16_t port,
                               double arrival_ms);
static int counted_stream(const receiver_t *r, uint32_t ssrc);

/* werift moves the rollover counter only near the wrap (srtp-gcm.ts rolloverMatters) */
static int rollover_matters(uint16_t seq) { return seq < 128 || seq > 0xffff - 128 || (seq & 0xff) == 0; }

static void take_datagram(int id, receiver_t *r, const uint8_t *p, size_t length, const struct sockaddr_in *from,
                          double arrival_ms) {
  uint32_t address = ntohl(from->sin_addr.s_addr);
  uint16_t port = ntohs(from->sin_port);
  /* RTP: version 2, and not RTCP's packet types 192-223 where RTP's marker and type sit (RFC 5761) */
  int stream = -1;
  if (length >= 12 && p[0] >> 6 == 2 && !(p[1] >= 192 && p[1] <= 223)) {
    uint32_t ssrc = be32(p + 8);
    for (int i = 0; i < r->ssrc_count; i++)
      if (r->ssrc[i] == ssrc) stream = i;
  }
  if (stream >= 0 && address == r->remote_address && port == r->remote_port) {
    int header = rtp_header_size(p, length);
    int type = p[1] & 0x7f;
    long body = (long)length - r->tag_bytes[stream] - header;
    if (header >= 0 && (r->payload_types[type >> 3] >> (type & 7) & 1) && body >= 0) {
      uint32_t ssrc = r->ssrc[stream], ts = be32(p + 4), payload = (uint32_t)body, wire = (uint32_t)length;
      uint16_t seq = (uint16_t)(p[2] << 8 | p[3]), rid = (uint16_t)id, hb = (uint16_t)header;
      double *counts = r->counts[stream];
      if (counts != NULL) {
        double perf_ms = arrival_ms + counts[RS_OFFSET];
        slot_open(counts);
        inbound_packet(counts, seq, ts, payload, hb, perf_ms);
        werift_packet(counts, seq, ts, hb, payload, (counts[RS_ORIGIN] + perf_ms) / 1000,
                      counts[RS_ORIGIN] + (now_ms() + counts[RS_OFFSET]));
        counts[RS_THREAD_PACKETS] += 1;
        counts[RS_THREAD_WIRE_BYTES] += wire;
        slot_close(counts);
        if (!rollover_matters(seq)) return;
      }
      uint8_t *rec = batch_room(RTP_RECORD_BYTES);
      if (rec == NULL) return;
      memset(rec, 0, RTP_RECORD_BYTES);
      rec[0] = RECORD_RTP;
      rec[1] = counts != NULL; /* counted here: the record is for werift's rollover state only */
      memcpy(rec + 2, &rid, 2);
      memcpy(rec + 4, &ssrc, 4);
      memcpy(rec + 8, &ts, 4);
      memcpy(rec + 12, &seq, 2);
      memcpy(rec + 14, &hb, 2);
      memcpy(rec + 16, &payload, 4);
      memcpy(rec + 20, &wire, 4);
      memcpy(rec + 24, &arrival_ms, 8);
      return;
    }
  }
  if (take_consent_answer(r, p, length, address, port, arrival_ms)) return;
  if (answer_keepalive(r, p, length, address, port)) return;
  if (take_rtcp(r, p, length, address, port, arrival_ms)) return;
  size_t padded = (length + 7) & ~(size_t)7;
  uint8_t *rec = batch_room(RAW_RECORD_BYTES + padded);
  if (rec == NULL) return;
  uint16_t rid = (uint16_t)id, bytes = (uint16_t)length;
  memset(rec, 0, RAW_RECORD_BYTES);
  rec[0] = RECORD_RAW;
  memcpy(rec + 2, &rid, 2);
  memcpy(rec + 4, &address, 4);
  memcpy(rec + 8, &port, 2);
  memcpy(rec + 10, &bytes, 2);
  memcpy(rec + 16, &arrival_ms, 8);
  memcpy(rec + RAW_RECORD_BYTES, p, length);
}

/*
 * Receiver reports (issue 51): werift's receiver sends one every 0.5-1.5 s (report-clock.ts); for a
 * receiver whose streams this thread counts, the thread sends it instead, built from the slots
 * (receiver_report), sealed with the local SRTCP key under the receiver's next index and sent to
 * the selected pair's remote, as werift's transport sends it. JavaScript hands the index back to
 * werift when the thread stops (removeReporter).
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t reports_sent;

static double uniform(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double next_report_ms(double now) { return now + 500 + uniform() * 1000; }

/* The reports' spacing differs from process to process, as werift's Math.random does. Called with the lock held. */
static void seed_reports(void) {
  static int seeded;
  if (seeded) return;
  seeded = 1;
  rng_state ^= (uint64_t)(now_ms() * 1e3) * 0x2545f4914f6cdd1dull;
  if (rng_state == 0) rng_state = 1;
}

static void report_due(receiver_t *r, double now) {
  uint8_t plain[8 + 24 * MAX_REPORT_STREAMS], sealed[sizeof plain + TAG_BYTES + 4];
  for (int k = 0; k < MAX_RECEIVER_SSRCS; k++) {
    struct reporter *rep = &r->reporters[k];
    if (!rep->used || rep->next_ms > now) continue;
    rep->next_ms = next_report_ms(now);
    uint32_t ssrcs[MAX_REPORT_STREAMS];
    double *slots[MAX_REPORT_STREAMS];
    int n = 0;
    for (int i = 0; i < rep->stream_count; i++) {
      double *counts = r->counts[rep->stream[i]];
      if (counts == NULL) continue;
      ssrcs[n] = r->ssrc[rep->stream[i]];
      slots[n++] = counts;
    }
    if (n == 0) continue;
    for (int i = 0; i < n; i++) slot_open(slots[i]);
    int bytes = receiver_report(plain, rep->rtcp_ssrc, n, ssrcs, slots, now);
    for (int i = 0; i < n; i++) slot_close(slots[i]);
    /* werift's SrtcpContext: the index moves on, and after 2^31 - 1 starts again at 0 */
    uint32_t index = rep->index + 1 > 0x7fffffffu ? 0 : rep->index + 1;
    if (seal_rtcp(rep->ctx, rep->salt, plain, bytes, index, sealed) != 0) continue;
    rep->index = index;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(r->remote_port),
                             .sin_addr.s_addr = htonl(r->remote_address)};
    if (sendto(r->fd, sealed, (size_t)bytes + TAG_BYTES + 4, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&to,
               sizeof to) >= 0)
      reports_sent++;
  }
}

/*
 * werift's sender reports of the streams sent here (issue 51): werift's report clock built each
 * one in JavaScript from the slot (report-clock.ts senderReport: the NTP time and RTP timestamp of
 * the last packet sent, the packet and octet counts), serialised it beside its SDES, and sealed
 * and sent it there, 0.5-1.5 s apart for each of the process's publishers. Here the same compound
 * is built from the same fields, sealed with the transport's local SRTCP key under the SSRC's next
 * index and sent on the stream's socket from the tick it is due in. The slot says the last one
 * (SLOT_SR_LSR, SLOT_SR_SENT_MS), which werift's fields read meanwhile (native-audio.ts), and werift
 * gets the index back when the thread lets go.
 */
static uint64_t sender_reports_sent;

/* NTP time (RFC 5905, 32.32) at `unix_ms`, with direct-send.ts ntpTimestamp's arithmetic. */
static void ntp_at(double unix_ms, uint32_t *seconds_out, uint32_t *fraction_out) {
  double ms = unix_ms + 2208988800000.0;
  double seconds = floor(ms / 1000);
  double fraction = floor(((ms - seconds * 1000) / 1000) * 4294967296.0);
  *seconds_out = (uint32_t)(int64_t)seconds;
  *fraction_out = (uint32_t)(int64_t)fraction;
}

/*
 * werift's sender report (RFC 3550 6.4.1, no report blocks) and then its SDES, as report-clock.ts
 * senderReport builds them: `sent_ms` (nowMs()) plus `epoch_ms` is the last packet's Unix time.
 * Its length in bytes; *lsr the report's compact NTP (the middle 32 bits).
 */
static int sender_report(uint8_t *out, uint32_t ssrc, double sent_ms, double epoch_ms, uint32_t ts,
                         double packets, double octets, const uint8_t *sdes, int sdes_bytes, double *lsr) {
  uint32_t seconds, fraction;
  ntp_at(sent_ms + epoch_ms, &seconds, &fraction);
  out[0] = 0x80;
  out[1] = 200;
  out[2] = 0;
  out[3] = 6;
  put32(out + 4, ssrc);
  put32(out + 8, seconds);
  put32(out + 12, fraction);
  put32(out + 16, ts);
  put32(out + 20, (uint32_t)(uint64_t)packets);
  put32(out + 24, (uint32_t)(uint64_t)octets);
  memcpy(out + 28, sdes, (size_t)sdes_bytes);
  *lsr = (double)((seconds & 0xffffu) << 16 | fraction >> 16);
  return 28 + sdes_bytes;
}

/* Every reported stream's report that is due at `now`, while it sends and once it has sent a packet. */
static void sender_reports_due(double now) {
  uint8_t plain[28 + MAX_SDES], sealed[sizeof plain + TAG_BYTES + 4];
  for (int i = 0; i < sender_high; i++) {
    sender_t *s = &senders[i];
    struct sender_report *rep = &s->report;
    if (!s->used || !rep->on || s->paused || rep->next_ms > now) continue;
    rep->next_ms = next_report_ms(now);
    /* no packet of this registration yet (werift would read the last one's): the next time */
    if (s->slot[SLOT_PACKETS] == 0) continue;
    double lsr;
    int bytes = sender_report(plain, be32(s->header + 8), s->slot[SLOT_SENT_MS], rep->epoch_ms,
                              (uint32_t)s->slot[SLOT_TS], rep->packets + s->slot[SLOT_PACKETS],
                              rep->octets + s->slot[SLOT_OCTETS], rep->sdes, rep->sdes_bytes, &lsr);
    uint32_t index = rep->index + 1 > 0x7fffffffu ? 0 : rep->index + 1;
    if (seal_rtcp(rep->ctx, rep->salt, plain, bytes, index, sealed) != 0) continue;
    rep->index = index;
    /* werift's round trip from the server's receiver reports, where werift still gets them, reads these */
    slot_open(s->slot);
    s->slot[SLOT_SR_LSR] = lsr;
    s->slot[SLOT_SR_SENT_MS] = now;
    slot_close(s->slot);
    /* counted as werift's transport counts its sends: sealed, whether or not the kernel took it */
    rep->sent += 1;
    if (sendto(s->fd, sealed, (size_t)bytes + TAG_BYTES + 4, MSG_DONTWAIT | MSG_NOSIGNAL,
               (struct sockaddr *)&s->to, sizeof s->to) >= 0)
      sender_reports_sent++;
  }
}

/*
 * Consent checks (issue 51). consent.ts sends a binding request on each connection's selected pair
 * every 5 s x (0.8-1.2) and takes its answer (a success response with the request's transaction id
 * and a MESSAGE-INTEGRITY that holds for the remote password); on a socket this thread reads it
 * hands them here instead (checkConsent): the thread sends consent.ts's request under a fresh
 * transaction id when it is due, on consent.ts's rules, and an answer to the last request is taken
 * here and not handed on. Its round trip is from the send to the kernel's arrival time. consent.ts
 * reads the state at its 250 ms tick: freshness, expiry and the pair's counts stay its own, and the
 * last request's answer is its to take once the thread lets go (CS_OUTSTANDING).
 */
static uint64_t consent_requests_sent, consent_answers_taken;

/* `c`'s request under `transaction`: the id written, MESSAGE-INTEGRITY and FINGERPRINT again. */
static int consent_request(consent_t *c, const uint8_t transaction[12]) {
  size_t bytes = c->request_bytes, integrity_at = bytes - 4 - STUN_HMAC_BYTES - 8;
  memcpy(c->request + 8, transaction, 12);
  if (stun_hmac(&c->remote, c->request, integrity_at, c->request + integrity_at + 4) != 0) return -1;
  put32(c->request + bytes - 4, crc32_of(c->request, bytes - 8) ^ STUN_FINGERPRINT_XOR);
  return 0;
}

/*
 * Whether `p` is the success response to `transaction`, its MESSAGE-INTEGRITY valid for `remote`
 * (consent.ts consentAnswered).
 */
static int consent_answered(const uint8_t *p, size_t length, const uint8_t transaction[12],
                            const stun_credentials_t *remote) {
  if (length < STUN_HEADER || be16(p) != 0x0101 || be32(p + 4) != STUN_COOKIE ||
      STUN_HEADER + (size_t)be16(p + 2) != length || memcmp(p + 8, transaction, 12) != 0)
    return 0;
  for (size_t at = STUN_HEADER; at + 4 <= length;) {
    uint16_t type = be16(p + at), bytes = be16(p + at + 2);
    if (at + 4 + bytes > length) return 0;
    if (type == STUN_MESSAGE_INTEGRITY) {
      uint8_t mac[STUN_HMAC_BYTES];
      return bytes == STUN_HMAC_BYTES && stun_hmac(remote, p, at, mac) == 0 &&
             CRYPTO_memcmp(mac, p + at + 4, STUN_HMAC_BYTES) == 0;
    }
    at += 4 + bytes + (4 - bytes % 4) % 4;
  }
  return 0;
}

static double next_consent_ms(double now) { return now + 5000 * (0.8 + 0.4 * uniform()); }

/*
 * A transaction id (RFC 5389: cryptographically random), from a pool RAND_bytes fills 32 ids at a
 * time: a call took about 26 us by perf, most of it OpenSSL's locking and DRBG set-up, not the
 * bytes. 0 when done. Called with the lock held.
 */
static int transaction_id(uint8_t out[12]) {
  static uint8_t pool[32 * 12];
  static size_t left;
  if (left == 0) {
    if (RAND_bytes(pool, sizeof pool) != 1) return -1;
    left = sizeof pool;
  }
  left -= 12;
  memcpy(out, pool + left, 12);
  memset(pool + left, 0, 12);
  return 0;
}

/* `r`'s consent request when it is due at `now`: sent to the pair's remote, the last outstanding. */
static void consent_due(receiver_t *r, double now) {
  consent_t *c = &r->consent;
  if (!c->on || now < c->next_ms) return;
  c->next_ms = next_consent_ms(now);
  uint8_t transaction[12];
  if (transaction_id(transaction) != 0 || consent_request(c, transaction) != 0) return;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(c->port), .sin_addr.s_addr = htonl(c->address)};
  /* timed from just before the send, as consent.ts times its own: the answer's arrival can come
     before a clock read after the call */
  double sent = now_ms();
  /* a full socket buffer or a closed path: no answer comes, and consent expires as consent.ts's would */
  if (sendto(r->fd, c->request, c->request_bytes, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to) !=
      (ssize_t)c->request_bytes)
    return;
  c->outstanding = 1;
  memcpy(c->transaction, transaction, sizeof transaction);
  c->sent_ms = sent;
  slot_open(c->state);
  c->state[CS_REQUESTS] += 1;
  c->state[CS_OUTSTANDING] = 1;
  c->state[CS_SENT_MS] = sent;
  for (int i = 0; i < 3; i++) c->state[CS_TRANSACTION + i] = be32(transaction + 4 * i);
  slot_close(c->state);
  consent_requests_sent++;
}

/*
 * Every due consent check, in a pass of its own half a period after the tick. The tick's packets
 * are a burst: every publisher of the process sends on it, where real clients' packets are spread
 * over the period. A check sent in the tick's wake, before or after its packets, waited behind
 * the burst at the server: at 30 audio rooms its round trip read 1.2 ms after the packets and 0.5
 * ms before them, where consent.ts's checks, sent at any moment of the period, read 0.1-0.2 ms
 * (bench/results.md, 2026-12-02 12:10). Called with the lock held.
 */
static void consents_due(double now) {
  for (int id = 0; id < receiver_high; id++)
    if (receivers[id].used) consent_due(&receivers[id], now);
}

/* Takes `p` when it answers `r`'s outstanding consent request from the pair's remote; 1 when taken. */
static int take_consent_answer(receiver_t *r, const uint8_t *p, size_t length, uint32_t address, uint16_t port,
                               double arrival_ms) {
  consent_t *c = &r->consent;
  if (!c->on || !c->outstanding || length < 2 || p[0] != 0x01 || p[1] != 0x01 || address != c->address ||
      port != c->port || !consent_answered(p, length, c->transaction, &c->remote))
    return 0;
  c->outstanding = 0;
  double rtt = arrival_ms - c->sent_ms;
  slot_open(c->state);
  c->state[CS_ANSWERS] += 1;
  c->state[CS_ANSWERED_MS] = arrival_ms;
  c->state[CS_RTT_MS] = rtt;
  c->state[CS_RTT_SUM_MS] += rtt;
  c->state[CS_OUTSTANDING] = 0;
  slot_close(c->state);
  consent_answers_taken++;
  return 1;
}

/*
 * The server's RTCP taken here (issue 51): about 100 of the 134 datagrams a second the thread still
 * handed to JavaScript at 30 audio rooms of 1+4 (its sender reports to each subscriber, its receiver
 * reports and XR to each publisher), each a Buffer, an emit and werift's parsing and routing there.
 * A compound is taken only when it opens with the socket's remote SRTCP key and every packet in it
 * is one the socket takes (rtcp_takes):
 * - a sender report (no report blocks) of a stream counted here whose receiver reports this thread
 *   sends: its LSR and arrival go to the stream's slot, as setLastSr puts what werift took, for the
 *   next report block; werift's receiver, which the report clock skips meanwhile, learns it at
 *   hand-back (native-reports.ts);
 * - the server's receiver reports and XR to an audio-only publisher: werift's sender reads only its
 *   round trip and the server's loss figures from them, and lean reads neither (the pair's round
 *   trip is consent's);
 * - SDES, which werift reads nowhere.
 * Anything else, or a compound that does not open (a new DTLS handshake's key, which werift has),
 * goes to JavaScript as before: werift stays the judge of what the thread does not understand. So
 * a subscriber that also receives video takes nothing here: LiveKit sends one compound of sender
 * reports for all of a subscriber's streams, and the video stream's is werift's.
 */
static uint64_t rtcp_taken, rtcp_taken_srs;

/* Whether a sender report of `ssrc` may be taken here: a stream counted here whose receiver reports this thread sends. */
static int reported_stream(const receiver_t *r, uint32_t ssrc) {
  int stream = counted_stream(r, ssrc);
  for (int k = 0; stream >= 0 && k < MAX_RECEIVER_SSRCS; k++)
    for (int i = 0; r->reporters[k].used && i < r->reporters[k].stream_count; i++)
      if (r->reporters[k].stream[i] == stream) return stream;
  return -1;
}

/* The stream whose sender report of `ssrc` the socket takes (an index into counts[]), else -1. */
static int taken_sender_report(const receiver_t *r, uint32_t ssrc) {
  return (r->rtcp_takes & TAKE_SENDER_REPORTS) ? reported_stream(r, ssrc) : -1;
}

/* Whether the socket takes an RTCP packet of `type` (a sender report's of `ssrc`), by what it takes. */
static int takes_packet(const receiver_t *r, int type, uint32_t ssrc) {
  if (type == 200) return taken_sender_report(r, ssrc) >= 0;
  if (type == 201 || type == 207) return (r->rtcp_takes & TAKE_PUBLISHER_FEEDBACK) != 0;
  return type == 202;
}

static int take_rtcp(receiver_t *r, const uint8_t *p, size_t length, uint32_t address, uint16_t port,
                     double arrival_ms) {
  uint8_t plain[RECV_BYTES];
  if (r->rtcp_takes == 0 || r->rtcp_open == NULL || address != r->remote_address || port != r->remote_port) return 0;
  if (length < 8 + TAG_BYTES + 4 || length > RECV_BYTES || p[0] >> 6 != 2 || p[1] < 192 || p[1] > 223) return 0;
  /* SRTCP leaves the first packet's header and sender in the clear: one the socket does not take
     goes on unopened (a video subscriber's compound of sender reports, once a reporter is gone) */
  if (!takes_packet(r, p[1], be32(p + 4))) return 0;
  if (open_rtcp(r->rtcp_open, r->rtcp_salt, p, (int)length, plain) != 0) return 0;
  size_t bytes = length - TAG_BYTES - 4;
  double *slots[MAX_RECEIVER_SSRCS];
  uint32_t lsrs[MAX_RECEIVER_SSRCS];
  int srs = 0;
  for (size_t at = 0; at < bytes;) {
    if (bytes - at < 4 || plain[at] >> 6 != 2) return 0;
    size_t size = ((size_t)be16(plain + at + 2) + 1) * 4;
    if (size > bytes - at) return 0;
    int type = plain[at + 1], count = plain[at] & 0x1f;
    if (type == 200) {
      /* a sender report with no blocks: SSRC, NTP (8 bytes), RTP time, packets, octets */
      if (count != 0 || size < 28 || srs == MAX_RECEIVER_SSRCS) return 0;
      int stream = taken_sender_report(r, be32(plain + at + 4));
      if (stream < 0) return 0;
      slots[srs] = r->counts[stream];
      /* the middle 32 bits of the NTP time (RFC 3550's LSR, werift's compactNtp) */
      lsrs[srs++] = (be32(plain + at + 8) & 0xffffu) << 16 | be32(plain + at + 12) >> 16;
    } else if (!takes_packet(r, type, 0))
      return 0;
    at += size;
  }
  for (int i = 0; i < srs; i++) {
    slot_open(slots[i]);
    slots[i][RS_W_LSR] = lsrs[i];
    slots[i][RS_W_SR_ARRIVAL_MS] = arrival_ms;
    slot_close(slots[i]);
  }
  rtcp_taken++;
  if (srs > 0) rtcp_taken_srs++;
  return 1;
}

static uint8_t recv_bytes[RECV_BATCH][RECV_BYTES];
static char recv_control[RECV_BATCH][CMSG_SPACE(sizeof(struct timespec))];

/*
 * recvmmsg's headers, set up once: a call writes only msg_len and each header's name and control
 * lengths and flags, which are put back for the headers it filled: most reads fill one of the
 * 32, and writing all 32 afresh for each of a tick's sockets cost more than the read's copy.
 */
static struct mmsghdr recv_msgs[RECV_BATCH];
static struct iovec recv_iov[RECV_BATCH];
static struct sockaddr_in recv_from[RECV_BATCH];

static void recv_headers_reset(int count) {
  for (int i = 0; i < count; i++) {
    recv_iov[i] = (struct iovec){.iov_base = recv_bytes[i], .iov_len = RECV_BYTES};
    recv_msgs[i] = (struct mmsghdr){0};
    recv_msgs[i].msg_hdr.msg_name = &recv_from[i];
    recv_msgs[i].msg_hdr.msg_namelen = sizeof recv_from[i];
    recv_msgs[i].msg_hdr.msg_iov = &recv_iov[i];
    recv_msgs[i].msg_hdr.msg_iovlen = 1;
    recv_msgs[i].msg_hdr.msg_control = recv_control[i];
    recv_msgs[i].msg_hdr.msg_controllen = sizeof recv_control[i];
  }
}

/*
 * Reads every registered socket dry; hands the tick's records to JavaScript in one call. Returns
 * when the next consent check of any socket is due (nowMs()), or -1 for none.
 */
static double receive(void) {
  double consent_next = -1;
  static int headers_ready;
  struct mmsghdr *msgs = recv_msgs;
  struct sockaddr_in *from = recv_from;
  struct timespec real_now;
  clock_gettime(CLOCK_REALTIME, &real_now);
  double mono = now_ms();
  /* the kernel stamps arrivals on CLOCK_REALTIME: moved onto nowMs()'s clock */
  double real_to_mono = mono - ((double)real_now.tv_sec * 1e3 + (double)real_now.tv_nsec / 1e6);
  for (int id = 0; id < receiver_high; id++) {
    receiver_t *r = &receivers[id];
    if (!r->used) continue;
    for (int rounds = 0; rounds < 64; rounds++) {
      if (!headers_ready) {
        recv_headers_reset(RECV_BATCH);
        headers_ready = 1;
      }
      int n = recvmmsg(r->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0) break;
      for (int i = 0; i < n; i++) {
        double arrival = mono;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec t;
            memcpy(&t, CMSG_DATA(c), sizeof t);
            arrival = (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6 + real_to_mono;
          }
        if (from[i].sin_family != AF_INET || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) continue;
        take_datagram(id, r, recv_bytes[i], msgs[i].msg_len, &from[i], arrival);
      }
      recv_headers_reset(n);
      if (n < RECV_BATCH) break;
    }
    report_due(r, mono);
    const consent_t *c = &r->consent;
    if (c->on && (consent_next < 0 || c->next_ms < consent_next)) consent_next = c->next_ms;
  }
  if (batch_bytes == 0 || !delivering) {
    batch_bytes = 0;
    return consent_next;
  }
  /* the batch goes to JavaScript, which frees it; the next tick starts a new one */
  uint8_t *handed = malloc(sizeof(size_t) + batch_bytes);
  if (handed == NULL) {
    batch_bytes = 0;
    return consent_next;
  }
  memcpy(handed, &batch_bytes, sizeof(size_t));
  memcpy(handed + sizeof(size_t), batch, batch_bytes);
  batch_bytes = 0;
  if (napi_call_threadsafe_function(delivered, handed, napi_tsfn_nonblocking) != napi_ok) free(handed);
  return consent_next;
}

/* When the timer's `n`th expiry since start() fell due, ms on nowMs()'s clock. */
static double expiry_ms(uint64_t n) { return timer_epoch_ms + (double)n * (PERIOD_NS / 1e6); }

/*
 * A tick sent `late` ms after its expiry: the send jitter's next step (RFC 3550 A.8: J starts at 0
 * and moves a sixteenth of the way to each |D|). Called with the lock held.
 */
static void sent_at(double late) {
  if (last_sent_valid) {
    if (send_jitter_ms < 0) send_jitter_ms = 0;
    send_jitter_ms += (fabs(late - last_sent_late_ms) - send_jitter_ms) / 16;
  }
  last_sent_late_ms = late;
  last_sent_valid = 1;
}

static void *run(void *unused) {
  (void)unused;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = timer_fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, timer_fd, &ev);
  ev.data.fd = stop_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
  double consent_pass_ms = -1; /* the mid-period pass of consent checks (consents_due), or -1 for none */
  for (;;) {
    struct epoll_event got[2];
    int timeout = -1;
    if (consent_pass_ms >= 0) {
      double wait = consent_pass_ms - now_ms();
      timeout = wait <= 0 ? 0 : (int)ceil(wait);
    }
    int n = epoll_wait(ep, got, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      consent_pass_ms = -1;
      pthread_mutex_lock(&lock);
      wakes++;
      consents_due(now_ms());
      pthread_mutex_unlock(&lock);
      continue;
    }
    int stop = 0;
    uint64_t expired = 0;
    for (int i = 0; i < n; i++) {
      if (got[i].data.fd == stop_fd) stop = 1;
      if (got[i].data.fd == timer_fd && read(timer_fd, &expired, sizeof expired) != sizeof expired) expired = 0;
    }
    if (stop) break;
    if (expired == 0) continue;
    double woke = now_ms();
    pthread_mutex_lock(&lock);
    wakes++;
    int sending = 0;
    for (int i = 0; i < sender_high && !sending; i++) sending = senders[i].used && !senders[i].paused;
    uint64_t run_now = expired > MAX_BURST ? MAX_BURST : expired;
    for (uint64_t i = 1; sending && i <= expired; i++) {
      double late = woke - expiry_ms(timer_expirations + i);
      int bucket = late <= 0 ? 0 : late >= LATE_BUCKETS - 1 ? LATE_BUCKETS - 1 : (int)late;
      late_ticks[bucket]++;
    }
    if (!sending) last_sent_valid = 0;
    /* a pass the thread woke too late for (the tick's timer came first): its checks go now, before
       the tick's packets, or a thread late every period would send none and consent would expire */
    if (consent_pass_ms >= 0 && woke >= consent_pass_ms) consents_due(woke);
    if (expired > run_now) skip(expired - run_now);
    /* the ticks sent are the last run_now of those expired (skip() moved past the others) */
    for (uint64_t i = 0; i < run_now; i++) {
      double began = tick();
      if (sending) sent_at(began - expiry_ms(timer_expirations + expired - run_now + 1 + i));
    }
    timer_expirations += expired;
    sender_reports_due(now_ms());
    double consent_next = receive();
    ticks_run += run_now;
    ticks_skipped += expired - run_now;
    /* the pass halfway to the next tick, when a check falls due by then */
    double pass = expiry_ms(timer_expirations) + PERIOD_NS / 2e6;
    consent_pass_ms = consent_next >= 0 && consent_next <= pass ? pass : -1;
    pthread_mutex_unlock(&lock);
  }
  close(ep);
  return NULL;
}

/* ---- Node-API ---- */

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return fail(env, "lean-media: " #call " failed");                       \
  } while (0)

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value number(napi_env env, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  return v;
}

static int buffer_arg(napi_env env, napi_value v, uint8_t **data, size_t *bytes) {
  bool is;
  return napi_is_buffer(env, v, &is) == napi_ok && is &&
         napi_get_buffer_info(env, v, (void **)data, bytes) == napi_ok;
}

static int prop(napi_env env, napi_value o, const char *name, napi_value *v) {
  return napi_get_named_property(env, o, name, v) == napi_ok;
}

static int prop_u32(napi_env env, napi_value o, const char *name, uint32_t *out) {
  napi_value v;
  return prop(env, o, name, &v) && napi_get_value_uint32(env, v, out) == napi_ok;
}

static int prop_i64(napi_env env, napi_value o, const char *name, int64_t *out) {
  napi_value v;
  return prop(env, o, name, &v) && napi_get_value_int64(env, v, out) == napi_ok;
}

/*
 * A dup of `fd` once it is a UDP socket (the dup keeps it open whatever JavaScript closes); -1 when
 * it is not one, -2 when it could not be duplicated.
 */
static int dup_udp_socket(int64_t fd) {
  struct stat st;
  int socket_type = 0;
  socklen_t len = sizeof socket_type;
  if (fd < 3 || fd > INT32_MAX || fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
      getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &socket_type, &len) != 0 || socket_type != SOCK_DGRAM)
    return -1;
  int dup_fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
  return dup_fd < 0 ? -2 : dup_fd;
}

/* seal(key, salt, header, payload, roc): the sealed payload and its tag, as GcmRtpSealer.seal. */
static napi_value js_seal(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint8_t *key, *salt, *header, *payload, *out;
  size_t key_bytes, salt_bytes, header_bytes, payload_bytes;
  uint32_t roc;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || !buffer_arg(env, argv[0], &key, &key_bytes) || key_bytes != 16 ||
      !buffer_arg(env, argv[1], &salt, &salt_bytes) || salt_bytes < 12 ||
      !buffer_arg(env, argv[2], &header, &header_bytes) || header_bytes < 12 ||
      !buffer_arg(env, argv[3], &payload, &payload_bytes) ||
      napi_get_value_uint32(env, argv[4], &roc) != napi_ok)
    return fail(env, "seal(key: 16 bytes, salt: 12+ bytes, header: 12+ bytes, payload, roc)");
  EVP_CIPHER_CTX *ctx = gcm_context(key);
  if (ctx == NULL) return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  napi_value result;
  if (napi_create_buffer(env, payload_bytes + TAG_BYTES, (void **)&out, &result) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
    return fail(env, "lean-media: out of memory");
  }
  int r = seal(ctx, salt, header, (int)header_bytes, payload, (int)payload_bytes, roc, out);
  EVP_CIPHER_CTX_free(ctx);
  return r == 0 ? result : fail(env, "lean-media: AES-128-GCM sealing failed");
}

/* sealRtcp(key, salt, packet, index): the SRTCP packet, as werift's GcmCipher.encryptRTCP(packet, index). */
static napi_value js_seal_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint8_t *key, *salt, *packet, *out;
  size_t key_bytes, salt_bytes, packet_bytes;
  uint32_t index;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !buffer_arg(env, argv[0], &key, &key_bytes) || key_bytes != 16 ||
      !buffer_arg(env, argv[1], &salt, &salt_bytes) || salt_bytes < 12 ||
      !buffer_arg(env, argv[2], &packet, &packet_bytes) || packet_bytes < 8 || packet_bytes > MAX_PAYLOAD ||
      napi_get_value_uint32(env, argv[3], &index) != napi_ok || index > 0x7fffffffu)
    return fail(env, "sealRtcp(key: 16 bytes, salt: 12+ bytes, packet: 8-1400 bytes, index: 0 to 2^31-1)");
  EVP_CIPHER_CTX *ctx = gcm_context(key);
  if (ctx == NULL) return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  napi_value result;
  if (napi_create_buffer(env, packet_bytes + TAG_BYTES + 4, (void **)&out, &result) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
    return fail(env, "lean-media: out of memory");
  }
  int r = seal_rtcp(ctx, salt, packet, (int)packet_bytes, index, out);
  EVP_CIPHER_CTX_free(ctx);
  return r == 0 ? result : fail(env, "lean-media: AES-128-GCM sealing failed");
}

/*
 * openRtcp(key, salt, packet): the plain compound packet of an SRTCP packet sealed with
 * AEAD_AES_128_GCM (open_rtcp), or undefined when it is not one or does not authenticate (werift's
 * decryptRTCP then says why). One Node-API call and one OpenSSL context a packet, and no
 * JavaScript object: werift's makes a decipher, its IV and associated data and four Buffers.
 */
static napi_value js_open_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *key, *salt, *packet, *out;
  size_t key_bytes, salt_bytes, packet_bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !buffer_arg(env, argv[0], &key, &key_bytes) || key_bytes != 16 ||
      !buffer_arg(env, argv[1], &salt, &salt_bytes) || salt_bytes < 12 || !buffer_arg(env, argv[2], &packet, &packet_bytes))
    return fail(env, "openRtcp(key: 16 bytes, salt: 12+ bytes, packet: Buffer)");
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  if (packet_bytes < 8 + TAG_BYTES + 4 || packet_bytes > 65535) return undefined;
  EVP_CIPHER_CTX *ctx = gcm_context_for(key, 0);
  if (ctx == NULL) return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  napi_value result;
  if (napi_create_buffer(env, packet_bytes - TAG_BYTES - 4, (void **)&out, &result) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
    return fail(env, "lean-media: out of memory");
  }
  int r = open_rtcp(ctx, salt, packet, (int)packet_bytes, out);
  EVP_CIPHER_CTX_free(ctx);
  return r == 0 ? result : undefined;
}

/* addLoop(payloads: Buffer[]): an index; the payloads are copied once, shared by every sender. */
static napi_value js_add_loop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t count;
  bool is_array;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok || count == 0)
    return fail(env, "addLoop(payloads: Buffer[]) wants at least one payload");
  pthread_mutex_lock(&lock);
  int full = loop_count == MAX_LOOPS;
  pthread_mutex_unlock(&lock);
  if (full) return fail(env, "lean-media: too many loops");
  loop_t loop = {calloc(count, sizeof(uint8_t *)), calloc(count, sizeof(uint16_t)), count};
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    uint8_t *data;
    size_t bytes;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok || !buffer_arg(env, item, &data, &bytes) ||
        bytes > MAX_PAYLOAD) {
      for (uint32_t j = 0; j < i; j++) free(loop.payload[j]);
      free(loop.payload);
      free(loop.bytes);
      return fail(env, "addLoop: every payload is a Buffer of at most 1400 bytes");
    }
    loop.payload[i] = malloc(bytes > 0 ? bytes : 1);
    memcpy(loop.payload[i], data, bytes);
    loop.bytes[i] = (uint16_t)bytes;
  }
  pthread_mutex_lock(&lock);
  int id = loop_count++;
  loops[id] = loop;
  pthread_mutex_unlock(&lock);
  return number(env, id);
}

/*
 * addSender({ fd, address (IPv4 as a 32-bit number), port, header (the SSRC in it), seq, timestamp,
 * timestampStep, tick, roc, lastSeq, rocProcessed, key, salt, loop }, slot: Float64Array): an id.
 * Packet n of the stream (n from `tick` on) carries the loop's payload n and timestamp + n x step,
 * and the marker bit when n is 0; the first goes at the next tick.
 */
static napi_value js_add_sender(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], v;
  uint32_t address, port, seq, ts, step, roc, last_seq, processed, loop, start;
  int64_t fd;
  uint8_t *header, *key, *salt;
  size_t header_bytes, key_bytes, salt_bytes, slot_length;
  napi_typedarray_type type;
  void *slot_data;
  napi_value slot_buffer;
  size_t slot_offset;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !prop_i64(env, argv[0], "fd", &fd) || !prop_u32(env, argv[0], "address", &address) ||
      !prop_u32(env, argv[0], "port", &port) || !prop_u32(env, argv[0], "seq", &seq) ||
      !prop_u32(env, argv[0], "timestamp", &ts) || !prop_u32(env, argv[0], "timestampStep", &step) ||
      !prop_u32(env, argv[0], "roc", &roc) || !prop_u32(env, argv[0], "lastSeq", &last_seq) ||
      !prop_u32(env, argv[0], "rocProcessed", &processed) || !prop_u32(env, argv[0], "loop", &loop) || !prop_u32(env, argv[0], "tick", &start) ||
      !prop(env, argv[0], "header", &v) || !buffer_arg(env, v, &header, &header_bytes) ||
      !prop(env, argv[0], "key", &v) || !buffer_arg(env, v, &key, &key_bytes) ||
      !prop(env, argv[0], "salt", &v) || !buffer_arg(env, v, &salt, &salt_bytes))
    return fail(env, "addSender: a field is missing or of the wrong type");
  if (header_bytes < 12 || header_bytes > MAX_HEADER || key_bytes != 16 || salt_bytes < 12 || port == 0 ||
      port > 65535 || loop >= (uint32_t)loop_count)
    return fail(env, "addSender: header 12-64 bytes, key 16, salt 12+, a port and a known loop");
  if (napi_get_typedarray_info(env, argv[1], &type, &slot_length, &slot_data, &slot_buffer, &slot_offset) !=
          napi_ok ||
      type != napi_float64_array || slot_length < SLOT_FIELDS)
    return fail(env, "addSender: the slot is a Float64Array of at least SLOT_FIELDS");
  int dup_fd = dup_udp_socket(fd);
  if (dup_fd == -1) return fail(env, "addSender: the fd is not a UDP socket");
  if (dup_fd < 0) return fail(env, "addSender: could not duplicate the socket");
  EVP_CIPHER_CTX *ctx = gcm_context(key);
  if (ctx == NULL) {
    close(dup_fd);
    return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  }
  napi_ref ref;
  if (napi_create_reference(env, argv[1], 1, &ref) != napi_ok) {
    close(dup_fd);
    EVP_CIPHER_CTX_free(ctx);
    return fail(env, "lean-media: could not hold the slot");
  }
  pthread_mutex_lock(&lock);
  int id = -1;
  for (int i = 0; i < MAX_SENDERS; i++)
    if (!senders[i].used) {
      id = i;
      break;
    }
  if (id < 0) {
    pthread_mutex_unlock(&lock);
    close(dup_fd);
    EVP_CIPHER_CTX_free(ctx);
    napi_delete_reference(env, ref);
    return fail(env, "lean-media: too many senders in one process");
  }
  sender_t *s = &senders[id];
  memset(s, 0, sizeof *s);
  s->fd = dup_fd;
  s->to.sin_family = AF_INET;
  s->to.sin_port = htons((uint16_t)port);
  s->to.sin_addr.s_addr = htonl(address);
  memcpy(s->header, header, header_bytes);
  s->header_bytes = (uint32_t)header_bytes;
  s->seq = (uint16_t)seq;
  s->ts = ts;
  s->ts_step = step;
  s->n = start;
  s->roc = roc;
  s->last_seq = (uint16_t)last_seq;
  s->roc_processed = processed != 0;
  s->ctx = ctx;
  memcpy(s->salt, salt, 12);
  s->loop = (int)loop;
  s->slot = slot_data;
  s->slot_ref = ref;
  for (int f = 0; f < SLOT_FIELDS; f++) s->slot[f] = 0;
  s->slot[SLOT_ROC] = roc;
  s->slot[SLOT_LAST_SEQ] = last_seq;
  s->slot[SLOT_SEQ] = (uint16_t)(seq - 1);
  s->slot[SLOT_TICK] = start;
  s->used = 1;
  if (id >= sender_high) sender_high = id + 1;
  pthread_mutex_unlock(&lock);
  return number(env, id);
}

static sender_t *sender_arg(napi_env env, napi_value v, uint32_t *id) {
  if (napi_get_value_uint32(env, v, id) != napi_ok || *id >= MAX_SENDERS || !senders[*id].used) return NULL;
  return &senders[*id];
}

/*
 * The sender `v` names, with the lock held, for a call that brings it a new SRTCP or SRTP context
 * `ctx`; NULL (the lock released, `ctx` freed) when there is no such sender.
 */
static sender_t *locked_sender(napi_env env, napi_value v, EVP_CIPHER_CTX *ctx) {
  uint32_t id;
  pthread_mutex_lock(&lock);
  sender_t *s = sender_arg(env, v, &id);
  if (s == NULL) {
    pthread_mutex_unlock(&lock);
    EVP_CIPHER_CTX_free(ctx);
  }
  return s;
}

/* pauseSender(id, paused): a paused stream keeps its clock (its timestamps follow wall time). */
static napi_value js_pause_sender(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t id;
  bool paused;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pthread_mutex_lock(&lock);
  sender_t *s = argc < 2 ? NULL : sender_arg(env, argv[0], &id);
  if (s == NULL || napi_get_value_bool(env, argv[1], &paused) != napi_ok) {
    pthread_mutex_unlock(&lock);
    return fail(env, "pauseSender(id, paused): no such sender");
  }
  s->paused = paused;
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* rekey(id, key, salt, roc, lastSeq, rocProcessed): a new DTLS handshake's keys, and the SSRC's counter state in its new context. */
static napi_value js_rekey(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  uint32_t roc, last_seq, processed;
  uint8_t *key, *salt;
  size_t key_bytes, salt_bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || !buffer_arg(env, argv[1], &key, &key_bytes) || key_bytes != 16 ||
      !buffer_arg(env, argv[2], &salt, &salt_bytes) || salt_bytes < 12 ||
      napi_get_value_uint32(env, argv[3], &roc) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &last_seq) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &processed) != napi_ok)
    return fail(env, "rekey(id, key: 16 bytes, salt: 12+ bytes, roc, lastSeq, rocProcessed)");
  EVP_CIPHER_CTX *ctx = gcm_context(key);
  if (ctx == NULL) return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  sender_t *s = locked_sender(env, argv[0], ctx);
  if (s == NULL) return fail(env, "rekey: no such sender");
  EVP_CIPHER_CTX_free(s->ctx);
  s->ctx = ctx;
  memcpy(s->salt, salt, 12);
  s->roc = roc;
  s->last_seq = (uint16_t)last_seq;
  s->roc_processed = processed != 0;
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* removeSender(id): the stream's last state is in its slot (sequence number, timestamp, counter). */
static napi_value js_remove_sender(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pthread_mutex_lock(&lock);
  sender_t *s = argc < 1 ? NULL : sender_arg(env, argv[0], &id);
  if (s == NULL) {
    pthread_mutex_unlock(&lock);
    return NULL; /* removing twice is harmless */
  }
  s->used = 0;
  close(s->fd);
  EVP_CIPHER_CTX_free(s->ctx);
  if (s->report.ctx != NULL) EVP_CIPHER_CTX_free(s->report.ctx);
  s->report.ctx = NULL;
  napi_ref ref = s->slot_ref;
  while (sender_high > 0 && !senders[sender_high - 1].used) sender_high--;
  pthread_mutex_unlock(&lock);
  napi_delete_reference(env, ref);
  return NULL;
}


/*
 * reportSender(id, key, salt, index, sdes, epochMs, packets, octets): the thread sends the stream's
 * sender reports from now on (sender_reports_due), sealed with this local SRTCP key after `index`,
 * each followed by `sdes` (werift's serialised SDES packet); `epochMs` is Unix ms minus nowMs(),
 * `packets` and `octets` werift's counts before this registration. Refused while the thread reports
 * the stream already: a second start with werift's older index would seal an index twice under one
 * key (GCM's nonce); unreportSender first, which hands the index back.
 */
static napi_value js_report_sender(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  uint32_t index;
  uint8_t *key, *salt, *sdes;
  size_t key_bytes, salt_bytes, sdes_bytes;
  double epoch, packets, octets;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !buffer_arg(env, argv[1], &key, &key_bytes) || key_bytes != 16 ||
      !buffer_arg(env, argv[2], &salt, &salt_bytes) || salt_bytes < 12 ||
      napi_get_value_uint32(env, argv[3], &index) != napi_ok || index > 0x7fffffffu ||
      !buffer_arg(env, argv[4], &sdes, &sdes_bytes) || sdes_bytes > MAX_SDES || sdes_bytes % 4 != 0 ||
      napi_get_value_double(env, argv[5], &epoch) != napi_ok || !is_finite(epoch) ||
      napi_get_value_double(env, argv[6], &packets) != napi_ok || !(packets >= 0 && packets < 1e15) ||
      napi_get_value_double(env, argv[7], &octets) != napi_ok || !(octets >= 0 && octets < 1e15))
    return fail(env, "reportSender(id, key: 16 bytes, salt: 12+ bytes, index, sdes: whole words up to 272 bytes, "
                     "epochMs, packets, octets)");
  EVP_CIPHER_CTX *ctx = gcm_context(key);
  if (ctx == NULL) return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  sender_t *s = locked_sender(env, argv[0], ctx);
  if (s == NULL) return fail(env, "reportSender: no such sender");
  struct sender_report *rep = &s->report;
  if (rep->on) {
    pthread_mutex_unlock(&lock);
    EVP_CIPHER_CTX_free(ctx);
    return fail(env, "reportSender: the thread reports this sender already");
  }
  memset(rep, 0, sizeof *rep);
  seed_reports();
  rep->next_ms = next_report_ms(now_ms());
  rep->on = 1;
  rep->ctx = ctx;
  memcpy(rep->salt, salt, 12);
  rep->index = index;
  memcpy(rep->sdes, sdes, sdes_bytes);
  rep->sdes_bytes = (int)sdes_bytes;
  rep->epoch_ms = epoch;
  rep->packets = packets;
  rep->octets = octets;
  pthread_mutex_unlock(&lock);
  return NULL;
}

/*
 * unreportSender(id): the thread sends no more of the stream's reports; what werift goes on from
 * ({ index, reports }: the last SRTCP index sealed and how many it sealed; the last report is in
 * the slot), or undefined when it sealed none since reportSender.
 */
static napi_value js_unreport_sender(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o = NULL;
  uint32_t id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pthread_mutex_lock(&lock);
  sender_t *s = argc < 1 ? NULL : sender_arg(env, argv[0], &id);
  struct sender_report rep = {0};
  if (s != NULL && s->report.on) {
    rep = s->report;
    memset(&s->report, 0, sizeof s->report);
  }
  pthread_mutex_unlock(&lock);
  if (rep.ctx != NULL) EVP_CIPHER_CTX_free(rep.ctx);
  if (rep.sent == 0) return NULL;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "index", number(env, rep.index));
  napi_set_named_property(env, o, "reports", number(env, rep.sent));
  return o;
}

/* ---- receiving ---- */

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  if (env == NULL || fn == NULL) {
    free(data);
    return;
  }
  size_t bytes;
  memcpy(&bytes, data, sizeof bytes);
  napi_value buffer, undefined;
  void *copy;
  napi_status status = napi_create_buffer_copy(env, bytes, (uint8_t *)data + sizeof(size_t), &copy, &buffer);
  free(data);
  if (status != napi_ok) return;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, fn, 1, &buffer, NULL);
}

/* onReceived(fn): fn(batch: Buffer) once per tick that read anything (see receive()). */
static napi_value js_on_received(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return fail(env, "onReceived(fn)");
  pthread_mutex_lock(&lock);
  int had = delivering;
  pthread_mutex_unlock(&lock);
  if (had) return fail(env, "onReceived: already set");
  CHECK(napi_create_string_utf8(env, "lean-media receive", NAPI_AUTO_LENGTH, &name));
  napi_threadsafe_function fn;
  CHECK(napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &fn));
  /* the process may exit with it set: participants hold the event loop open, not the receiver */
  CHECK(napi_unref_threadsafe_function(env, fn));
  pthread_mutex_lock(&lock);
  delivered = fn;
  delivering = 1;
  pthread_mutex_unlock(&lock);
  return NULL;
}

static receiver_t *receiver_arg(napi_env env, napi_value v, uint32_t *id) {
  if (napi_get_value_uint32(env, v, id) != napi_ok || *id >= MAX_RECEIVERS || !receivers[*id].used) return NULL;
  return &receivers[*id];
}

/* addReceiver(fd, address, port): the socket is read here from the next tick; stop libuv's reads first. */
static napi_value js_add_receiver(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int64_t fd;
  uint32_t address, port;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_int64(env, argv[0], &fd) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &address) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &port) != napi_ok || port == 0 || port > 65535)
    return fail(env, "addReceiver(fd, address, port)");
  int on = 1;
  int dup_fd = dup_udp_socket(fd);
  if (dup_fd == -1) return fail(env, "addReceiver: the fd is not a UDP socket");
  if (dup_fd < 0) return fail(env, "addReceiver: could not duplicate the socket");
  if (setsockopt(dup_fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
    close(dup_fd);
    return fail(env, "addReceiver: no SO_TIMESTAMPNS on the socket");
  }
  /* read every 20 ms, not at each datagram: room for a tick's burst (the kernel caps it at rmem_max) */
  int room = 1 << 20;
  setsockopt(dup_fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  pthread_mutex_lock(&lock);
  int id = -1;
  for (int k = 0; k < MAX_RECEIVERS; k++) {
    int i = (receiver_next + k) % MAX_RECEIVERS;
    if (!receivers[i].used) {
      id = i;
      break;
    }
  }
  if (id < 0) {
    pthread_mutex_unlock(&lock);
    close(dup_fd);
    return fail(env, "lean-media: too many receivers in one process");
  }
  receiver_next = (id + 1) % MAX_RECEIVERS;
  receiver_t *r = &receivers[id];
  memset(r, 0, sizeof *r);
  r->fd = dup_fd;
  r->remote_address = address;
  r->remote_port = (uint16_t)port;
  r->used = 1;
  if (id >= receiver_high) receiver_high = id + 1;
  pthread_mutex_unlock(&lock);
  return number(env, id);
}

/* setReceiverRemote(id, address, port): the selected pair's remote, the one source counted. */
static napi_value js_set_receiver_remote(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t id, address, port;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_uint32(env, argv[1], &address) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &port) != napi_ok)
    return fail(env, "setReceiverRemote(id, address, port)");
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  if (r != NULL) {
    r->remote_address = address;
    r->remote_port = (uint16_t)port;
  }
  pthread_mutex_unlock(&lock);
  return r == NULL ? fail(env, "setReceiverRemote: no such receiver") : NULL;
}

/* setReceiverPayloadTypes(id, types: number[]): the payload types read header-only (Opus). */
static napi_value js_set_receiver_payload_types(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t id, count;
  uint8_t mask[16] = {0};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_array_length(env, argv[1], &count) != napi_ok)
    return fail(env, "setReceiverPayloadTypes(id, types: number[])");
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    uint32_t type;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok || napi_get_value_uint32(env, item, &type) != napi_ok ||
        type > 127)
      return fail(env, "setReceiverPayloadTypes: types are 0-127");
    mask[type >> 3] |= (uint8_t)(1 << (type & 7));
  }
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  if (r != NULL) memcpy(r->payload_types, mask, sizeof mask);
  pthread_mutex_unlock(&lock);
  return r == NULL ? fail(env, "setReceiverPayloadTypes: no such receiver") : NULL;
}

/* The Float64Array `v` when it has at least `fields` doubles, else NULL. */
static double *float64_arg(napi_env env, napi_value v, size_t fields) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_float64_array || length < fields)
    return NULL;
  return data;
}

/*
 * addReceiverSsrc(id, ssrc, tagBytes, counts?): the SSRC's packets are read here from now on. With
 * `counts` (a Float64Array of RS_FIELDS holding the stream's counters so far) they are counted
 * here too, into it; without, each goes to JavaScript as a record.
 */
static napi_value js_add_receiver_ssrc(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t id, ssrc, tag;
  napi_valuetype counts_type = napi_undefined;
  double *counts = NULL;
  napi_ref ref = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_uint32(env, argv[1], &ssrc) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &tag) != napi_ok || tag > 16)
    return fail(env, "addReceiverSsrc(id, ssrc, tagBytes, counts?)");
  if (argc >= 4) CHECK(napi_typeof(env, argv[3], &counts_type));
  if (counts_type != napi_undefined) {
    counts = float64_arg(env, argv[3], RS_FIELDS);
    if (counts == NULL) return fail(env, "addReceiverSsrc: counts is a Float64Array of at least RS_FIELDS");
    if (napi_create_reference(env, argv[3], 1, &ref) != napi_ok) return fail(env, "lean-media: could not hold the counts");
  }
  const char *error = NULL;
  napi_ref dropped = NULL;
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  if (r == NULL)
    error = "addReceiverSsrc: no such receiver";
  else {
    int at = -1;
    for (int i = 0; i < r->ssrc_count; i++)
      if (r->ssrc[i] == ssrc) at = i;
    if (at < 0 && r->ssrc_count == MAX_RECEIVER_SSRCS)
      error = "addReceiverSsrc: too many streams on one socket";
    else {
      if (at < 0) at = r->ssrc_count++;
      dropped = r->counts_ref[at];
      r->ssrc[at] = ssrc;
      r->tag_bytes[at] = (uint8_t)tag;
      r->counts[at] = counts;
      r->counts_ref[at] = ref;
      ref = NULL;
    }
  }
  pthread_mutex_unlock(&lock);
  if (dropped != NULL) napi_delete_reference(env, dropped);
  if (ref != NULL) napi_delete_reference(env, ref);
  return error != NULL ? fail(env, error) : NULL;
}

/* Where `ssrc`'s stream is on `r` when this thread counts it there, else -1; under the lock. */
static int counted_stream(const receiver_t *r, uint32_t ssrc) {
  for (int i = 0; r != NULL && i < r->ssrc_count; i++)
    if (r->ssrc[i] == ssrc && r->counts[i] != NULL) return i;
  return -1;
}

/* The slot of `ssrc`'s stream when this thread counts it on `r`, else NULL; under the lock. */
static double *counted_slot(const receiver_t *r, uint32_t ssrc) {
  int i = counted_stream(r, ssrc);
  return i < 0 ? NULL : r->counts[i];
}

/*
 * countReceived(id, ssrc, parts, seq, timestamp, headerBytes, payloadBytes, arrivalMs, nowS): a
 * packet of a stream counted here that JavaScript took instead (padding werift decrypted, a packet
 * from another socket), into InboundStream's counters (parts & 1: arrivalMs on the performance
 * clock) and werift's (parts & 2: nowS, werift's arrival in epoch seconds). False when the stream
 * is not counted here (any more): the caller counts it.
 */
static napi_value js_count_received(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9], result;
  uint32_t id, ssrc, parts, seq, ts;
  double header, payload, arrival, now_s;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9 || napi_get_value_uint32(env, argv[1], &ssrc) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &parts) != napi_ok || napi_get_value_uint32(env, argv[3], &seq) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &ts) != napi_ok || napi_get_value_double(env, argv[5], &header) != napi_ok ||
      napi_get_value_double(env, argv[6], &payload) != napi_ok ||
      napi_get_value_double(env, argv[7], &arrival) != napi_ok || napi_get_value_double(env, argv[8], &now_s) != napi_ok ||
      seq > 0xffff || !is_finite(payload) || !is_finite(arrival) || !is_finite(now_s) ||
      !(is_nan(header) || is_finite(header))) /* a header's size may be undefined (NaN), nothing else */
    return fail(env, "countReceived(id, ssrc, parts, seq, timestamp, headerBytes, payloadBytes, arrivalMs, nowS)");
  pthread_mutex_lock(&lock);
  double *counts = counted_slot(receiver_arg(env, argv[0], &id), ssrc);
  if (counts != NULL) {
    slot_open(counts);
    if (parts & COUNT_INBOUND) inbound_packet(counts, (uint16_t)seq, ts, payload, header, arrival);
    if (parts & COUNT_WERIFT)
      werift_packet(counts, (uint16_t)seq, ts, header, payload, now_s, counts[RS_ORIGIN] + (now_ms() + counts[RS_OFFSET]));
    slot_close(counts);
  }
  int counted = counts != NULL;
  pthread_mutex_unlock(&lock);
  napi_get_boolean(env, counted, &result);
  return result;
}

/*
 * addReporter(id, rtcpSsrc, ssrcs, key, salt, index, initial): the thread sends the receiver
 * reports of werift's receiver `rtcpSsrc` from now on, one block per stream of `ssrcs` (each counted
 * here already, in werift's order), sealed with the local SRTCP session key and salt (AES-128-GCM)
 * after SRTCP index `index` (werift's for rtcpSsrc). `initial` holds four numbers per stream, put
 * in its slot: werift's fraction-lost priors (expected, received), the last sender report's LSR (0:
 * none) and its arrival (nowMs()). The first report goes 0.5-1.5 s from now.
 */
static napi_value js_add_reporter(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  uint32_t id, rtcp_ssrc, index, n = 0, m = 0;
  uint8_t *key, *salt;
  size_t key_bytes, salt_bytes;
  uint32_t ssrcs[MAX_REPORT_STREAMS];
  double initial[4 * MAX_REPORT_STREAMS];
  const char *usage = "addReporter(id, rtcpSsrc, ssrcs: number[] (1-4), key: 16 bytes, salt: 12+ bytes, index, "
                      "initial: number[] (4 a stream))";
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7 || napi_get_value_uint32(env, argv[1], &rtcp_ssrc) != napi_ok ||
      napi_get_array_length(env, argv[2], &n) != napi_ok || n < 1 || n > MAX_REPORT_STREAMS ||
      !buffer_arg(env, argv[3], &key, &key_bytes) || key_bytes != 16 || !buffer_arg(env, argv[4], &salt, &salt_bytes) ||
      salt_bytes < 12 || napi_get_value_uint32(env, argv[5], &index) != napi_ok || index > 0x7fffffffu ||
      napi_get_array_length(env, argv[6], &m) != napi_ok || m != 4 * n)
    return fail(env, usage);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[2], i, &v) != napi_ok || napi_get_value_uint32(env, v, &ssrcs[i]) != napi_ok)
      return fail(env, usage);
  }
  for (uint32_t i = 0; i < m; i++) {
    napi_value v;
    if (napi_get_element(env, argv[6], i, &v) != napi_ok || napi_get_value_double(env, v, &initial[i]) != napi_ok ||
        !(is_finite(initial[i]) || is_nan(initial[i])))
      return fail(env, usage);
  }
  EVP_CIPHER_CTX *ctx = gcm_context(key);
  if (ctx == NULL) return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  const char *error = NULL;
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  struct reporter *rep = NULL;
  int stream[MAX_REPORT_STREAMS];
  if (r == NULL) error = "addReporter: no such receiver";
  for (uint32_t i = 0; error == NULL && i < n; i++) {
    stream[i] = counted_stream(r, ssrcs[i]);
    if (stream[i] < 0) error = "addReporter: a stream it reports is not counted on this socket";
  }
  for (int k = 0; error == NULL && k < MAX_RECEIVER_SSRCS; k++)
    if (r->reporters[k].used && r->reporters[k].rtcp_ssrc == rtcp_ssrc) error = "addReporter: reported already";
  for (int k = 0; error == NULL && rep == NULL && k < MAX_RECEIVER_SSRCS; k++)
    if (!r->reporters[k].used) rep = &r->reporters[k];
  if (error == NULL && rep == NULL) error = "addReporter: too many reporters on one socket";
  if (error == NULL) {
    memset(rep, 0, sizeof *rep);
    rep->used = 1;
    rep->rtcp_ssrc = rtcp_ssrc;
    rep->stream_count = (int)n;
    for (uint32_t i = 0; i < n; i++) {
      rep->stream[i] = stream[i];
      double *counts = r->counts[stream[i]];
      slot_open(counts);
      counts[RS_W_EXPECTED_PRIOR] = initial[4 * i];
      counts[RS_W_RECEIVED_PRIOR] = initial[4 * i + 1];
      counts[RS_W_LSR] = initial[4 * i + 2];
      counts[RS_W_SR_ARRIVAL_MS] = initial[4 * i + 3];
      slot_close(counts);
    }
    rep->ctx = ctx;
    ctx = NULL;
    memcpy(rep->salt, salt, 12);
    rep->index = index;
    seed_reports();
    rep->next_ms = next_report_ms(now_ms());
  }
  pthread_mutex_unlock(&lock);
  if (ctx != NULL) EVP_CIPHER_CTX_free(ctx);
  return error != NULL ? fail(env, error) : NULL;
}

/*
 * removeReporter(id, rtcpSsrc): the thread sends no more of its reports; the SRTCP index it
 * reached (werift's to go on from), or -1 when it sent none for it. The priors stay in the slots.
 */
static napi_value js_remove_reporter(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t id, rtcp_ssrc;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &rtcp_ssrc) != napi_ok)
    return fail(env, "removeReporter(id, rtcpSsrc)");
  double index = -1;
  EVP_CIPHER_CTX *ctx = NULL;
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  for (int k = 0; r != NULL && k < MAX_RECEIVER_SSRCS; k++) {
    struct reporter *rep = &r->reporters[k];
    if (!rep->used || rep->rtcp_ssrc != rtcp_ssrc) continue;
    index = rep->index;
    ctx = rep->ctx;
    memset(rep, 0, sizeof *rep);
  }
  pthread_mutex_unlock(&lock);
  if (ctx != NULL) EVP_CIPHER_CTX_free(ctx);
  return number(env, index);
}

/*
 * setLastSr(id, ssrc, lsr, arrivalMs): a sender report werift took for a stream counted here (its
 * LSR, and its arrival on nowMs()'s clock), for the stream's next report block; false when the
 * stream is not counted here.
 */
static napi_value js_set_last_sr(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  uint32_t id, ssrc;
  double lsr, arrival;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_value_uint32(env, argv[1], &ssrc) != napi_ok ||
      napi_get_value_double(env, argv[2], &lsr) != napi_ok || napi_get_value_double(env, argv[3], &arrival) != napi_ok ||
      !is_finite(lsr) || !is_finite(arrival))
    return fail(env, "setLastSr(id, ssrc, lsr, arrivalMs)");
  pthread_mutex_lock(&lock);
  double *counts = counted_slot(receiver_arg(env, argv[0], &id), ssrc);
  if (counts != NULL) {
    slot_open(counts);
    counts[RS_W_LSR] = lsr;
    counts[RS_W_SR_ARRIVAL_MS] = arrival;
    slot_close(counts);
  }
  int set = counts != NULL;
  pthread_mutex_unlock(&lock);
  napi_get_boolean(env, set, &result);
  return result;
}

/*
 * takeRtcp(id, takes, key?, salt?): the thread takes the server's RTCP on socket `id` that `takes`
 * (TAKE_* bits) names (take_rtcp), opened with this remote SRTCP key (AES-128-GCM, werift's
 * remote context's); takeRtcp(id, 0) hands it all to JavaScript again.
 */
static napi_value js_take_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t id, takes;
  uint8_t *key = NULL, *salt = NULL;
  size_t key_bytes = 0, salt_bytes = 0;
  const char *usage = "takeRtcp(id, takes: 0-3, key: 16 bytes, salt: 12+ bytes)";
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &takes) != napi_ok || takes > 3) return fail(env, usage);
  if (takes != 0 && (argc < 4 || !buffer_arg(env, argv[2], &key, &key_bytes) || key_bytes != 16 ||
                     !buffer_arg(env, argv[3], &salt, &salt_bytes) || salt_bytes < 12))
    return fail(env, usage);
  EVP_CIPHER_CTX *ctx = NULL;
  if (takes != 0 && (ctx = gcm_context_for(key, 0)) == NULL)
    return fail(env, "lean-media: AES-128-GCM is not available from this node's OpenSSL");
  const char *error = NULL;
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  if (r == NULL)
    error = "takeRtcp: no such receiver";
  else {
    EVP_CIPHER_CTX *old = r->rtcp_open;
    r->rtcp_open = ctx;
    r->rtcp_takes = (int)takes;
    if (salt != NULL) memcpy(r->rtcp_salt, salt, 12);
    ctx = old;
  }
  pthread_mutex_unlock(&lock);
  if (ctx != NULL) EVP_CIPHER_CTX_free(ctx);
  return error != NULL ? fail(env, error) : NULL;
}

/* removeReceiver(id): what is still queued stays in the socket for libuv (recvStart after this). */
static napi_value js_remove_receiver(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id;
  int off = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pthread_mutex_lock(&lock);
  receiver_t *r = argc < 1 ? NULL : receiver_arg(env, argv[0], &id);
  napi_ref held[MAX_RECEIVER_SSRCS + 2];
  int held_count = 0;
  EVP_CIPHER_CTX *contexts[MAX_RECEIVER_SSRCS + 1];
  int context_count = 0;
  if (r != NULL) {
    r->used = 0;
    for (int k = 0; k < MAX_RECEIVER_SSRCS; k++)
      if (r->reporters[k].used) {
        contexts[context_count++] = r->reporters[k].ctx;
        r->reporters[k].used = 0;
      }
    for (int i = 0; i < r->ssrc_count; i++) {
      if (r->counts_ref[i] != NULL) held[held_count++] = r->counts_ref[i];
      r->counts[i] = NULL;
      r->counts_ref[i] = NULL;
    }
    if (r->stun_answered_ref != NULL) held[held_count++] = r->stun_answered_ref;
    r->stun_answered = NULL;
    r->stun_answered_ref = NULL;
    r->stun.on = 0;
    if (r->consent.state_ref != NULL) held[held_count++] = r->consent.state_ref;
    r->consent = (consent_t){0};
    r->rtcp_takes = 0;
    if (r->rtcp_open != NULL) contexts[context_count++] = r->rtcp_open;
    r->rtcp_open = NULL;
    setsockopt(r->fd, SOL_SOCKET, SO_TIMESTAMPNS, &off, sizeof off);
    close(r->fd);
    while (receiver_high > 0 && !receivers[receiver_high - 1].used) receiver_high--;
  }
  pthread_mutex_unlock(&lock);
  /* the counts are JavaScript's again: the thread no longer writes them */
  for (int i = 0; i < held_count; i++) napi_delete_reference(env, held[i]);
  for (int i = 0; i < context_count; i++) EVP_CIPHER_CTX_free(contexts[i]);
  return NULL;
}

/* A credential argument: a Buffer of 0-256 bytes copied to `out`; 0 when it is one. */
static int credential_arg(napi_env env, napi_value v, uint8_t out[MAX_ICE_CREDENTIAL], size_t *bytes) {
  uint8_t *data;
  if (!buffer_arg(env, v, &data, bytes) || *bytes > MAX_ICE_CREDENTIAL) return -1;
  memcpy(out, data, *bytes);
  return 0;
}

/*
 * answerKeepalives(id, ufrag, password, controlling, answered): the thread answers the server's
 * keepalives on socket `id` with these local ICE credentials (werift's localUsername and
 * localPassword as UTF-8, its iceControlling) from now on, adding each to answered[0] (a
 * Float64Array of 1); answerKeepalives(id) stops it. The array is JavaScript's again once stopped.
 */
static napi_value js_answer_keepalives(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t id;
  bool controlling = false;
  double *answered = NULL;
  napi_ref answered_ref = NULL, released = NULL;
  stun_credentials_t c = {0};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if ((argc != 1 && argc < 5) ||
      (argc >= 5 && (credential_arg(env, argv[1], c.ufrag, &c.ufrag_bytes) != 0 ||
                     credential_arg(env, argv[2], c.password, &c.password_bytes) != 0 ||
                     napi_get_value_bool(env, argv[3], &controlling) != napi_ok ||
                     (answered = float64_arg(env, argv[4], 1)) == NULL)))
    return fail(env, "answerKeepalives(id, ufrag: Buffer (up to 256 bytes), password: Buffer (up to 256 bytes), "
                     "controlling: boolean, answered: Float64Array(1)), or answerKeepalives(id) to stop");
  if (answered != NULL) CHECK(napi_create_reference(env, argv[4], 1, &answered_ref));
  credentials_keyed(&c);
  c.on = answered != NULL;
  c.controlling = controlling;
  pthread_mutex_lock(&lock);
  receiver_t *r = receiver_arg(env, argv[0], &id);
  if (r != NULL) {
    released = r->stun_answered_ref;
    r->stun = c;
    r->stun_answered = answered;
    r->stun_answered_ref = answered_ref;
  }
  pthread_mutex_unlock(&lock);
  if (released != NULL) napi_delete_reference(env, released);
  if (r == NULL) {
    if (answered_ref != NULL) napi_delete_reference(env, answered_ref);
    return fail(env, "answerKeepalives: no such receiver");
  }
  return NULL;
}

/*
 * answerKeepalive(request, ufrag, password, controlling, address, port): the thread's answer to
 * `request` from IPv4 `address` (a uint32) and `port`, or undefined when it leaves the request to
 * JavaScript; pure, for tests (binding.ts is the oracle).
 */
static napi_value js_answer_keepalive(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  uint8_t *request;
  size_t request_bytes;
  uint32_t address, port;
  bool controlling;
  stun_credentials_t c = {.on = 1};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || !buffer_arg(env, argv[0], &request, &request_bytes) || request_bytes > RECV_BYTES ||
      credential_arg(env, argv[1], c.ufrag, &c.ufrag_bytes) != 0 ||
      credential_arg(env, argv[2], c.password, &c.password_bytes) != 0 ||
      napi_get_value_bool(env, argv[3], &controlling) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &address) != napi_ok || napi_get_value_uint32(env, argv[5], &port) != napi_ok ||
      port > 65535)
    return fail(env, "answerKeepalive(request: Buffer (up to 2048 bytes), ufrag: Buffer, password: Buffer, "
                     "controlling, address: uint32, port)");
  c.controlling = controlling;
  credentials_keyed(&c);
  uint8_t answer[STUN_ANSWER_BYTES];
  if (!keepalive_request(request, request_bytes, &c) ||
      binding_success(request, address, (uint16_t)port, &c, answer) != 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }
  napi_value out;
  CHECK(napi_create_buffer_copy(env, sizeof answer, answer, NULL, &out));
  return out;
}

/*
 * The request and password arguments of checkConsent and its pure twin: a binding request ending
 * in MESSAGE-INTEGRITY and FINGERPRINT (consent.ts consentRequest), and the remote password.
 */
static int consent_args(napi_env env, napi_value request, napi_value password, consent_t *c) {
  uint8_t *data;
  size_t bytes;
  if (!buffer_arg(env, request, &data, &bytes) || bytes > MAX_CONSENT_REQUEST || bytes < STUN_HEADER + 32 ||
      be16(data) != 0x0001 || be32(data + 4) != STUN_COOKIE || STUN_HEADER + (size_t)be16(data + 2) != bytes ||
      be16(data + bytes - 32) != STUN_MESSAGE_INTEGRITY || be16(data + bytes - 30) != STUN_HMAC_BYTES ||
      be16(data + bytes - 8) != STUN_FINGERPRINT || be16(data + bytes - 6) != 4 ||
      credential_arg(env, password, c->remote.password, &c->remote.password_bytes) != 0)
    return -1;
  memcpy(c->request, data, bytes);
  c->request_bytes = bytes;
  credentials_keyed(&c->remote);
  return 0;
}

/*
 * checkConsent(id, request, password, address, port, firstMs, state): the thread checks consent on
 * socket `id` from now on (consent_due): `request` (consent.ts's, up to 640 bytes) under a fresh
 * transaction id to IPv4 `address`:`port`, first at `firstMs` (nowMs()'s clock), keyed with the
 * remote `password` (up to 256 bytes), its counts in `state` (a Float64Array of CONSENT_FIELDS, 11, zeros).
 * checkConsent(id, state) stops it if `state` is still the one it writes; the array is
 * JavaScript's again then, as it is once the receiver is removed.
 */
static napi_value js_check_consent(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  uint32_t id, address, port;
  double first_ms;
  consent_t c = {0};
  napi_ref released = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc == 2) {
    double *state = float64_arg(env, argv[1], CS_FIELDS);
    if (state == NULL) return fail(env, "checkConsent(id, state: Float64Array(11)) stops the checks");
    pthread_mutex_lock(&lock);
    receiver_t *r = receiver_arg(env, argv[0], &id);
    if (r != NULL && r->consent.state == state) {
      released = r->consent.state_ref;
      r->consent = (consent_t){0};
    }
    pthread_mutex_unlock(&lock);
    if (released != NULL) napi_delete_reference(env, released);
    return NULL;
  }
  if (argc < 7 || consent_args(env, argv[1], argv[2], &c) != 0 ||
      napi_get_value_uint32(env, argv[3], &address) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &port) != napi_ok || port == 0 || port > 65535 ||
      napi_get_value_double(env, argv[5], &first_ms) != napi_ok || !is_finite(first_ms) ||
      (c.state = float64_arg(env, argv[6], CS_FIELDS)) == NULL)
    return fail(env, "checkConsent(id, request: Buffer (a STUN message ending in MESSAGE-INTEGRITY and "
                     "FINGERPRINT, up to 640 bytes), password: Buffer (up to 256 bytes), address: uint32, port, "
                     "firstMs, state: Float64Array(11))");
  c.on = 1;
  c.remote.on = 1;
  c.address = address;
  c.port = (uint16_t)port;
  c.next_ms = first_ms;
  CHECK(napi_create_reference(env, argv[6], 1, &c.state_ref));
  pthread_mutex_lock(&lock);
  seed_reports(); /* the checks' spacing differs from process to process, as the reports' does */
  receiver_t *r = receiver_arg(env, argv[0], &id);
  if (r != NULL) {
    released = r->consent.state_ref;
    r->consent = c;
  }
  pthread_mutex_unlock(&lock);
  if (released != NULL) napi_delete_reference(env, released);
  if (r == NULL) {
    napi_delete_reference(env, c.state_ref);
    return fail(env, "checkConsent: no such receiver");
  }
  return NULL;
}

/* consentRequest(request, password, transactionId): the request the thread sends under that id; pure, for tests. */
static napi_value js_consent_request(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *transaction;
  size_t transaction_bytes;
  consent_t c = {0};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || consent_args(env, argv[0], argv[1], &c) != 0 ||
      !buffer_arg(env, argv[2], &transaction, &transaction_bytes) || transaction_bytes != 12)
    return fail(env, "consentRequest(request: Buffer (a STUN message ending in MESSAGE-INTEGRITY and FINGERPRINT, "
                     "up to 640 bytes), password: Buffer (up to 256 bytes), transactionId: Buffer(12))");
  if (consent_request(&c, transaction) != 0) return fail(env, "consentRequest: no HMAC");
  napi_value out;
  CHECK(napi_create_buffer_copy(env, c.request_bytes, c.request, NULL, &out));
  return out;
}

/* consentAnswered(data, transactionId, password): whether the thread takes `data` as the answer; pure, for tests. */
static napi_value js_consent_answered(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *data, *transaction;
  size_t bytes, transaction_bytes;
  stun_credentials_t remote = {.on = 1};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !buffer_arg(env, argv[0], &data, &bytes) || bytes > RECV_BYTES ||
      !buffer_arg(env, argv[1], &transaction, &transaction_bytes) || transaction_bytes != 12 ||
      credential_arg(env, argv[2], remote.password, &remote.password_bytes) != 0)
    return fail(env, "consentAnswered(data: Buffer (up to 2048 bytes), transactionId: Buffer(12), password: Buffer)");
  credentials_keyed(&remote);
  napi_value out;
  CHECK(napi_get_boolean(env, consent_answered(data, bytes, transaction, &remote), &out));
  return out;
}

static void stop_thread(void) {
  if (!running) return;
  uint64_t one = 1;
  if (write(stop_fd, &one, sizeof one) != sizeof one) return;
  pthread_join(thread, NULL);
  running = 0;
  close(timer_fd);
  close(stop_fd);
  timer_fd = stop_fd = -1;
}

/* start(): the tick thread, if not running; its ticks fall on nowMs() multiples of 20 ms from now. */
static napi_value js_start(napi_env env, napi_callback_info info) {
  (void)info;
  if (running) return NULL;
  timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (timer_fd < 0 || stop_fd < 0) return fail(env, "lean-media: no timerfd or eventfd");
  /* an absolute first expiry one period after the epoch: a wait before the timer is armed is no
     lateness of every tick after it. The thread is not running: no lock for its epoch */
  struct timespec epoch;
  clock_gettime(CLOCK_MONOTONIC, &epoch);
  timer_epoch_ms = (double)epoch.tv_sec * 1e3 + (double)epoch.tv_nsec / 1e6;
  timer_expirations = 0;
  last_sent_valid = 0;
  struct timespec first = epoch;
  first.tv_nsec += PERIOD_NS;
  if (first.tv_nsec >= 1000000000L) {
    first.tv_sec += 1;
    first.tv_nsec -= 1000000000L;
  }
  struct itimerspec spec = {.it_interval = {0, PERIOD_NS}, .it_value = first};
  if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, NULL) != 0)
    return fail(env, "lean-media: timerfd_settime failed");
  if (pthread_create(&thread, NULL, run, NULL) != 0) return fail(env, "lean-media: no thread");
  running = 1;
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  stop_thread();
  return NULL;
}

/*
 * stats(): the thread's wakes (its ticks' and its consent passes'), ticks run and ticks skipped
 * since the process loaded the addon, and what it sent and took.
 */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  pthread_mutex_lock(&lock);
  double w = (double)wakes, r = (double)ticks_run, k = (double)ticks_skipped, rr = (double)reports_sent,
         ka = (double)stun_answers, rt = (double)rtcp_taken, rts = (double)rtcp_taken_srs,
         sr = (double)sender_reports_sent, cq = (double)consent_requests_sent, ca = (double)consent_answers_taken;
  pthread_mutex_unlock(&lock);
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "reports", number(env, rr));
  napi_set_named_property(env, o, "senderReports", number(env, sr));
  napi_set_named_property(env, o, "keepalives", number(env, ka));
  napi_set_named_property(env, o, "consentRequests", number(env, cq));
  napi_set_named_property(env, o, "consentAnswers", number(env, ca));
  napi_set_named_property(env, o, "rtcpTaken", number(env, rt));
  napi_set_named_property(env, o, "rtcpTakenSenderReports", number(env, rts));
  napi_set_named_property(env, o, "wakes", number(env, w));
  napi_set_named_property(env, o, "ticks", number(env, r));
  napi_set_named_property(env, o, "skipped", number(env, k));
  return o;
}

/*
 * lateness(): how many ticks ran 0, 1, ... LATE_BUCKETS - 2 ms late (whole ms), and LATE_BUCKETS - 1
 * or more (the last), since the addon loaded; a stats window's share is the difference of two.
 */
static napi_value js_lateness(napi_env env, napi_callback_info info) {
  (void)info;
  uint64_t copy[LATE_BUCKETS];
  pthread_mutex_lock(&lock);
  memcpy(copy, late_ticks, sizeof copy);
  pthread_mutex_unlock(&lock);
  napi_value out;
  CHECK(napi_create_array_with_length(env, LATE_BUCKETS, &out));
  for (uint32_t i = 0; i < LATE_BUCKETS; i++) CHECK(napi_set_element(env, out, i, number(env, (double)copy[i])));
  return out;
}

/* sendJitter(): the thread's own send jitter now (send_jitter_ms), ms; undefined before it has one. */
static napi_value js_send_jitter(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&lock);
  double j = send_jitter_ms;
  pthread_mutex_unlock(&lock);
  if (j >= 0) return number(env, j);
  napi_value out;
  napi_get_undefined(env, &out);
  return out;
}

/*
 * sendTo(fd, data, address, port): one sendto on the caller's thread, without libuv's send request,
 * its callback or dgram's argument handling; the bytes sent, or -errno (EAGAIN when the socket's
 * buffer is full: the caller hands the datagram to dgram, which queues it). For every datagram
 * werift still writes on a socket of the native path (RTCP, ICE, DTLS, data, video RTP).
 */
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int64_t fd;
  uint8_t *data;
  size_t bytes;
  uint32_t address, port;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_value_int64(env, argv[0], &fd) != napi_ok || fd < 3 || fd > INT32_MAX ||
      !buffer_arg(env, argv[1], &data, &bytes) || napi_get_value_uint32(env, argv[2], &address) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &port) != napi_ok || port == 0 || port > 65535)
    return fail(env, "sendTo(fd, data: Buffer, address: IPv4 as a number, port: 1-65535)");
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  to.sin_addr.s_addr = htonl(address);
  ssize_t sent = sendto((int)fd, data, bytes, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to);
  return number(env, sent < 0 ? -(double)errno : (double)sent);
}

/*
 * receiverReport(rtcpSsrc, ssrcs, slots, nowMs): the receiver report the thread would build from
 * the streams' slots (Float64Arrays of RS_FIELDS), moving their priors on; for tests.
 */
static napi_value js_receiver_report(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t rtcp_ssrc, n = 0, m = 0;
  double now;
  uint32_t ssrcs[31];
  double *slots[31];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const char *usage = "receiverReport(rtcpSsrc, ssrcs: number[], slots: Float64Array[] of COUNTS_FIELDS, nowMs)";
  if (argc < 4 || napi_get_value_uint32(env, argv[0], &rtcp_ssrc) != napi_ok ||
      napi_get_array_length(env, argv[1], &n) != napi_ok || napi_get_array_length(env, argv[2], &m) != napi_ok ||
      n != m || n > 31 || napi_get_value_double(env, argv[3], &now) != napi_ok)
    return fail(env, usage);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || napi_get_value_uint32(env, v, &ssrcs[i]) != napi_ok ||
        napi_get_element(env, argv[2], i, &v) != napi_ok || (slots[i] = float64_arg(env, v, RS_FIELDS)) == NULL)
      return fail(env, usage);
  }
  uint8_t *out;
  napi_value result;
  if (napi_create_buffer(env, 8 + 24 * n, (void **)&out, &result) != napi_ok) return fail(env, "lean-media: out of memory");
  receiver_report(out, rtcp_ssrc, (int)n, ssrcs, slots, now);
  return result;
}

/*
 * senderReport(ssrc, sentMs, epochMs, timestamp, packets, octets, sdes): the compound the thread
 * sends for a stream in this state (plain, not sealed), for tests.
 */
static napi_value js_sender_report(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], result;
  uint32_t ssrc, ts;
  double sent, epoch, packets, octets, lsr;
  uint8_t *sdes, *out;
  size_t sdes_bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7 || napi_get_value_uint32(env, argv[0], &ssrc) != napi_ok ||
      napi_get_value_double(env, argv[1], &sent) != napi_ok || napi_get_value_double(env, argv[2], &epoch) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &ts) != napi_ok || napi_get_value_double(env, argv[4], &packets) != napi_ok ||
      napi_get_value_double(env, argv[5], &octets) != napi_ok || !buffer_arg(env, argv[6], &sdes, &sdes_bytes) ||
      sdes_bytes > MAX_SDES)
    return fail(env, "senderReport(ssrc, sentMs, epochMs, timestamp, packets, octets, sdes)");
  if (napi_create_buffer(env, 28 + sdes_bytes, (void **)&out, &result) != napi_ok)
    return fail(env, "lean-media: out of memory");
  sender_report(out, ssrc, sent, epoch, ts, packets, octets, sdes, (int)sdes_bytes, &lsr);
  return result;
}

static napi_value js_now_ms(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, now_ms());
}

static void cleanup(void *unused) {
  (void)unused;
  stop_thread();
  if (delivering) {
    napi_release_threadsafe_function(delivered, napi_tsfn_abort);
    delivering = 0;
  }
}

NAPI_MODULE_INIT() {
  napi_property_descriptor fns[] = {
      {"seal", NULL, js_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sealRtcp", NULL, js_seal_rtcp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openRtcp", NULL, js_open_rtcp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"receiverReport", NULL, js_receiver_report, NULL, NULL, NULL, napi_enumerable, NULL},
      {"senderReport", NULL, js_sender_report, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reportSender", NULL, js_report_sender, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unreportSender", NULL, js_unreport_sender, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addLoop", NULL, js_add_loop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addSender", NULL, js_add_sender, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pauseSender", NULL, js_pause_sender, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rekey", NULL, js_rekey, NULL, NULL, NULL, napi_enumerable, NULL},
      {"removeSender", NULL, js_remove_sender, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lateness", NULL, js_lateness, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendJitter", NULL, js_send_jitter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nowMs", NULL, js_now_ms, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"onReceived", NULL, js_on_received, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addReceiver", NULL, js_add_receiver, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setReceiverRemote", NULL, js_set_receiver_remote, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setReceiverPayloadTypes", NULL, js_set_receiver_payload_types, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addReceiverSsrc", NULL, js_add_receiver_ssrc, NULL, NULL, NULL, napi_enumerable, NULL},
      {"removeReceiver", NULL, js_remove_receiver, NULL, NULL, NULL, napi_enumerable, NULL},
      {"countReceived", NULL, js_count_received, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addReporter", NULL, js_add_reporter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"removeReporter", NULL, js_remove_reporter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setLastSr", NULL, js_set_last_sr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"takeRtcp", NULL, js_take_rtcp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"answerKeepalives", NULL, js_answer_keepalives, NULL, NULL, NULL, napi_enumerable, NULL},
      {"answerKeepalive", NULL, js_answer_keepalive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"checkConsent", NULL, js_check_consent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"consentRequest", NULL, js_consent_request, NULL, NULL, NULL, napi_enumerable, NULL},
      {"consentAnswered", NULL, js_consent_answered, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value fields, counts_fields, consent_fields;
  napi_create_uint32(env, SLOT_FIELDS, &fields);
  napi_create_uint32(env, RS_FIELDS, &counts_fields);
  napi_create_uint32(env, CS_FIELDS, &consent_fields);
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  napi_set_named_property(env, exports, "SLOT_FIELDS", fields);
  napi_set_named_property(env, exports, "COUNTS_FIELDS", counts_fields);
  napi_set_named_property(env, exports, "CONSENT_FIELDS", consent_fields);
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  return exports;
}
