/*
 * ice-scope: keeps a process's sockets on the local addresses listed in LKSWARM_ICE_SCOPE.
 *
 * Loaded with LD_PRELOAD into the swarm's native workers only (packages/load/src/run/ice-scope.ts).
 * @livekit/rtc-node's libwebrtc lists interfaces with getifaddrs(3), ignores loopback adapters
 * (its default network_ignore_mask), and binds one UDP socket per remaining address: against a
 * loopback LiveKit that means every external address and none on 127.0.0.1, and livekit-ffi exposes
 * no option to change it (docs/network.md). This library changes what the process sees instead:
 *
 *   getifaddrs  entries whose address is not in the scope lose their address (ifa_addr = NULL,
 *               which every reader must already skip), and kept ones lose IFF_LOOPBACK and the
 *               name "lo", which libwebrtc would otherwise type as loopback and ignore.
 *   bind        an internet socket bound to an address outside the scope fails (EADDRNOTAVAIL);
 *               one bound to the any-address is bound to the scope's address of that family.
 *   connect     a datagram socket not yet bound is first bound to the scope's address of its
 *               family, so the kernel never picks a source outside the scope (libwebrtc connects
 *               one to 8.8.8.8:53, sending nothing, to learn the default route's address).
 *
 * LKSWARM_ICE_SCOPE: comma-separated numeric IPv4/IPv6 addresses, at most SCOPE_MAX. Unset or
 * empty: the library changes nothing. Built by scripts/setup with cc (no other dependency).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SCOPE_MAX 32

static struct in_addr scope4[SCOPE_MAX];
static struct in6_addr scope6[SCOPE_MAX];
static int n4, n6, active;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int (*real_getifaddrs)(struct ifaddrs **);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);

/* The name kept loopback entries get: anything libwebrtc's name rules do not type as loopback. */
static char scoped_name[] = "lkswarm-scope";

static void load(void) {
  real_getifaddrs = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
  real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
  real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
  const char *env = getenv("LKSWARM_ICE_SCOPE");
  if (env == NULL || *env == '\0') return;
  char buf[2048];
  strncpy(buf, env, sizeof buf - 1);
  buf[sizeof buf - 1] = '\0';
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    if (n4 < SCOPE_MAX && inet_pton(AF_INET, tok, &scope4[n4]) == 1) n4++;
    else if (n6 < SCOPE_MAX && inet_pton(AF_INET6, tok, &scope6[n6]) == 1) n6++;
  }
  active = n4 + n6 > 0;
}

static void init(void) { pthread_once(&once, load); }

static int in_scope(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct in_addr *a = &((const struct sockaddr_in *)sa)->sin_addr;
    for (int i = 0; i < n4; i++)
      if (a->s_addr == scope4[i].s_addr) return 1;
  } else if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    for (int i = 0; i < n6; i++)
      if (memcmp(a, &scope6[i], sizeof *a) == 0) return 1;
  }
  return 0;
}

static int is_any(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
  return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &in6addr_any, sizeof(struct in6_addr)) == 0;
}

/* The scope's first address of `family` with `port`, in `out`; 0 when the scope has none. */
static socklen_t scoped_address(int family, in_port_t port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (family == AF_INET && n4 > 0) {
    struct sockaddr_in *s = (struct sockaddr_in *)out;
    s->sin_family = AF_INET;
    s->sin_port = port;
    s->sin_addr = scope4[0];
    return sizeof *s;
  }
  if (family == AF_INET6 && n6 > 0) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)out;
    s->sin6_family = AF_INET6;
    s->sin6_port = port;
    s->sin6_addr = scope6[0];
    return sizeof *s;
  }
  return 0;
}

int getifaddrs(struct ifaddrs **ifap) {
  init();
  int rc = real_getifaddrs(ifap);
  if (rc != 0 || !active) return rc;
  for (struct ifaddrs *ifa = *ifap; ifa != NULL; ifa = ifa->ifa_next) {
    /* entries stay linked: glibc's freeifaddrs frees one block from the list's head */
    if (ifa->ifa_addr == NULL || !in_scope(ifa->ifa_addr)) {
      ifa->ifa_addr = NULL;
      continue;
    }
    if (ifa->ifa_flags & IFF_LOOPBACK) {
      ifa->ifa_flags &= ~IFF_LOOPBACK;
      ifa->ifa_name = scoped_name;
    }
  }
  return rc;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  init();
  if (!active || addr == NULL || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
    return real_bind(fd, addr, len);
  if (in_scope(addr)) return real_bind(fd, addr, len);
  if (is_any(addr)) {
    struct sockaddr_storage scoped;
    in_port_t port = addr->sa_family == AF_INET ? ((const struct sockaddr_in *)addr)->sin_port
                                                : ((const struct sockaddr_in6 *)addr)->sin6_port;
    socklen_t slen = scoped_address(addr->sa_family, port, &scoped);
    if (slen > 0) return real_bind(fd, (struct sockaddr *)&scoped, slen);
  }
  errno = EADDRNOTAVAIL;
  return -1;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  init();
  int type = 0;
  socklen_t tlen = sizeof type;
  if (!active || addr == NULL || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_DGRAM)
    return real_connect(fd, addr, len);
  struct sockaddr_storage local;
  socklen_t llen = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0) return real_connect(fd, addr, len);
  in_port_t port = local.ss_family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                              : ((struct sockaddr_in6 *)&local)->sin6_port;
  if (port == 0) {
    /* unbound: the kernel would bind it to the route's source address, whatever the scope */
    struct sockaddr_storage scoped;
    socklen_t slen = scoped_address(local.ss_family, 0, &scoped);
    if (slen == 0) {
      errno = ENETUNREACH;
      return -1;
    }
    if (real_bind(fd, (struct sockaddr *)&scoped, slen) != 0) return -1;
  }
  return real_connect(fd, addr, len);
}
