/* udp_burst: a burst of datagrams at a UDP echo server, and how many
 * replies came back.
 *
 * SOCKETS sockets send COUNT datagrams of SIZE bytes in all, round robin,
 * as fast as sendto() goes, and only then read the replies, until all are
 * back or a second passes without one. Each socket asks for a 4 MiB
 * receive buffer, so the replies waiting for it are not what overflows:
 * a missing reply was dropped by the server's kernel (the Udp
 * RcvbufErrors counter of /proc/net/snmp, which benches/udp.sh reads
 * around the burst) or by the server itself.
 *
 *   cc -O2 -o udp_burst benches/udp_burst.c
 *   ./udp_burst 127.0.0.1:7002 [SOCKETS=4] [COUNT=2000] [SIZE=1400]
 *
 * Prints one line: `sent=2000 replies=2000 client_rcvbuf=8388608`; exits 1 when
 * replies are missing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define CLIENT_RCVBUF (4 * 1024 * 1024)

static char buf[65536];

static void die(const char *what) {
    perror(what);
    exit(2);
}

static struct sockaddr_in parse_addr(const char *text) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) {
        fprintf(stderr, "udp_burst: expected HOST:PORT, got %s\n", text);
        exit(2);
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "udp_burst: not an IPv4 address: %s\n", host);
        exit(2);
    }
    return addr;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: udp_burst HOST:PORT [SOCKETS] [COUNT] [SIZE]\n");
        return 2;
    }
    struct sockaddr_in server = parse_addr(argv[1]);
    int sockets = argc > 2 ? atoi(argv[2]) : 4;
    int count = argc > 3 ? atoi(argv[3]) : 2000;
    int size = argc > 4 ? atoi(argv[4]) : 1400;
    if (sockets < 1 || sockets > MAX_SOCKETS || count < 1 || size < 1 || size > (int)sizeof buf) {
        fprintf(stderr, "udp_burst: 1..%d sockets, a positive count, 1..%zu bytes\n", MAX_SOCKETS, sizeof buf);
        return 2;
    }
    struct pollfd fds[MAX_SOCKETS];
    int granted = 0;
    for (int i = 0; i < sockets; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
            die("socket");
        int want = CLIENT_RCVBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
        socklen_t len = sizeof granted;
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len);
        if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0)
            die("connect");
        fds[i] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    memset(buf, 'x', (size_t)size);
    int sent = 0;
    for (int n = 0; n < count; n++) {
        if (send(fds[n % sockets].fd, buf, (size_t)size, 0) == size)
            sent++;
    }
    int replies = 0;
    while (replies < sent) {
        int ready = poll(fds, (nfds_t)sockets, 1000);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break; /* a second of silence: the rest is not coming */
        for (int i = 0; i < sockets; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            while (recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
                replies++;
        }
    }
    printf("sent=%d replies=%d client_rcvbuf=%d\n", sent, replies, granted);
    return replies == count ? 0 : 1;
}
