/* udp_floor: the floor `reactor udp-echo` is measured against.
 *
 * The simplest UDP echo server there is: one blocking socket, recvfrom()
 * then sendto() of the same bytes back to their sender, forever. Two
 * system calls per datagram, no event loop, nothing else watched. A
 * server on an event loop pays an epoll_wait on top of this for each
 * wake-up, so it can only catch up by moving more than one datagram per
 * system call. benches/udp.sh runs the two side by side.
 *
 * Its socket buffers are the kernel's defaults, as the simplest server's
 * would be.
 *
 *   cc -O2 -o udp_floor benches/udp_floor.c
 *   ./udp_floor 127.0.0.1:0     # prints: listening on udp://127.0.0.1:PORT
 *
 * SIGINT or SIGTERM ends it (the default action: there is nothing to
 * flush). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Larger than any UDP payload, so no datagram is cut short. */
static char buf[65536];

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Parses an IPv4 HOST:PORT (the benchmark binds 127.0.0.1 only). */
static struct sockaddr_in parse_addr(const char *text) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) {
        fprintf(stderr, "udp_floor: expected HOST:PORT, got %s\n", text);
        exit(2);
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "udp_floor: not an IPv4 address: %s\n", host);
        exit(2);
    }
    return addr;
}

int main(int argc, char **argv) {
    struct sockaddr_in addr = parse_addr(argc > 1 ? argv[1] : "127.0.0.1:0");
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("bind");
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        die("getsockname");
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
    printf("listening on udp://%s:%u\n", host, ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("recvfrom");
        /* A full send buffer or an unreachable peer loses this one reply,
         * as UDP may; the next datagram is served. */
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len);
    }
}
