/* What the floors (epoll-echo.c, epoll-http.c, udp-floor.c) share: the
 * command line, the listening socket, the readiness line, and stopping on
 * SIGTERM/SIGINT. Everything here runs once, before the measured loop.
 *
 * A "floor" is what one core does with nothing on top of the system calls:
 * no runtime, no buffering policy, no parsing beyond what the protocol
 * cannot do without. A server measured against it can be as fast, not
 * faster, except by making fewer system calls. */
#ifndef FLOOR_H
#define FLOOR_H

#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Set by SIGTERM/SIGINT. The handler is installed without SA_RESTART, so
 * the blocking call the loop sits in (epoll_wait, recvfrom) returns EINTR
 * and the loop sees the flag at once. */
static volatile sig_atomic_t floor_stop;

static void floor_on_signal(int sig) {
    (void)sig;
    floor_stop = 1;
}

static void floor_die(const char *what) {
    fprintf(stderr, "error: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* `--bind HOST:PORT` or `--bind=HOST:PORT`, HOST numeric (IPv6 in
 * brackets); port 0 lets the kernel choose. Exits 2 on anything else. */
static const char *floor_bind_arg(int argc, char **argv, const char *usage) {
    if (argc == 3 && strcmp(argv[1], "--bind") == 0)
        return argv[2];
    if (argc == 2 && strncmp(argv[1], "--bind=", 7) == 0)
        return argv[1] + 7;
    fprintf(stderr, "usage: %s\n", usage);
    exit(2);
}

/* Binds a socket of `type` (SOCK_STREAM listens too) to `hostport`. */
static int floor_bind(const char *hostport, int type, int nonblock) {
    char host[256];
    const char *colon = strrchr(hostport, ':');
    size_t len = colon ? (size_t)(colon - hostport) : 0;
    if (!colon || len == 0 || len >= sizeof host) {
        fprintf(stderr, "error: --bind wants HOST:PORT, not %s\n", hostport);
        exit(2);
    }
    memcpy(host, hostport, len);
    host[len] = 0;
    if (host[0] == '[' && host[len - 1] == ']') {
        memmove(host, host + 1, len - 2);
        host[len - 2] = 0;
    }
    struct addrinfo hints = {0}, *addr;
    hints.ai_socktype = type;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(host, colon + 1, &hints, &addr);
    if (rc != 0) {
        fprintf(stderr, "error: --bind %s: %s\n", hostport, gai_strerror(rc));
        exit(2);
    }
    int fd = socket(addr->ai_family, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        floor_die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, addr->ai_addr, addr->ai_addrlen) < 0)
        floor_die(hostport);
    freeaddrinfo(addr);
    if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
        floor_die("listen");
    return fd;
}

/* Prints `listening on SCHEME://HOST:PORT`, flushed: the one line on
 * stdout that scripts wait for. */
static void floor_announce(int fd, const char *scheme) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN], port[8];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        floor_die("getsockname");
    if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        floor_die("getnameinfo");
    if (ss.ss_family == AF_INET6)
        printf("listening on %s://[%s]:%s\n", scheme, host, port);
    else
        printf("listening on %s://%s:%s\n", scheme, host, port);
    fflush(stdout);
}

/* Stop on SIGTERM/SIGINT; a peer that resets never kills us with SIGPIPE.
 * Raises the descriptor limit to the hard one, as reactor, nginx and Redis
 * do, and returns it (the size of a per-descriptor table). */
static size_t floor_setup(void) {
    struct sigaction sa = {0};
    sa.sa_handler = floor_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        floor_die("getrlimit");
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (size_t)rl.rlim_cur;
}

#endif
