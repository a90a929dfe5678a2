/* udp-floor: the floor for UDP echo.
 *
 * What one core does with nothing on top of the system calls: one
 * blocking socket, recvfrom() then sendto() of the same datagram back to
 * its sender, forever. Two system calls per datagram and no event loop:
 * a server that can also watch other sources must pay at least a wake-up
 * on top of this.
 *
 *   cc -O2 -o udp-floor udp-floor.c && ./udp-floor --bind 127.0.0.1:0 */
#include "floor.h"

static char buf[64 * 1024];

int main(int argc, char **argv) {
    const char *bind_to = floor_bind_arg(argc, argv, "udp-floor --bind HOST:PORT");
    floor_setup();
    int fd = floor_bind(bind_to, SOCK_DGRAM, 0);
    floor_announce(fd, "udp");
    while (!floor_stop) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            floor_die("recvfrom");
        /* A full send buffer or an unreachable peer loses this datagram,
         * as UDP may; the next one is served. */
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len);
    }
    return 0;
}
