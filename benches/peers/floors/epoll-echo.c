/* epoll-echo: the floor for TCP echo.
 *
 * What one core does with nothing on top of the system calls: one
 * level-triggered epoll set, and per readable event one recv() into a
 * buffer shared by every connection and one send() of the same bytes.
 * No per-connection buffer unless a send() comes back short: then the rest
 * is kept, the connection stops being read (flow control) and waits for
 * EPOLLOUT. Level-triggered means a connection with more bytes than one
 * recv() takes is simply reported again by the next epoll_wait().
 *
 *   cc -O2 -o epoll-echo epoll-echo.c && ./epoll-echo --bind 127.0.0.1:0 */
#include "floor.h"

#include <sys/epoll.h>

/* Bytes a short send() left over, by descriptor. */
struct pending {
    char *data;
    size_t len, off;
};

static char buf[64 * 1024];

static void watch(int ep, int op, int fd, unsigned events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(ep, op, fd, &ev) < 0)
        floor_die("epoll_ctl");
}

static void drop(int fd, struct pending *p) {
    free(p->data);
    p->data = NULL;
    close(fd); /* also leaves the epoll set */
}

static void accept_one(int ep, int listener, size_t limit) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return; /* EAGAIN, or a connection reset before we took it */
    if ((size_t)fd >= limit) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN);
}

static void readable(int ep, int fd, struct pending *p) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(fd, p);
        return;
    }
    ssize_t w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
    if (w == n)
        return;
    if (w < 0 && errno != EAGAIN) {
        drop(fd, p);
        return;
    }
    size_t sent = w < 0 ? 0 : (size_t)w;
    p->len = (size_t)n - sent;
    p->off = 0;
    p->data = malloc(p->len);
    if (!p->data)
        floor_die("malloc");
    memcpy(p->data, buf + sent, p->len);
    watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
}

static void writable(int ep, int fd, struct pending *p) {
    ssize_t w = send(fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR)
            drop(fd, p);
        return;
    }
    p->off += (size_t)w;
    if (p->off < p->len)
        return;
    free(p->data);
    p->data = NULL;
    watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
}

int main(int argc, char **argv) {
    const char *bind_to = floor_bind_arg(argc, argv, "epoll-echo --bind HOST:PORT");
    size_t limit = floor_setup();
    struct pending *pending = calloc(limit, sizeof *pending);
    if (!pending)
        floor_die("calloc");
    int listener = floor_bind(bind_to, SOCK_STREAM, 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        floor_die("epoll_create1");
    watch(ep, EPOLL_CTL_ADD, listener, EPOLLIN);
    floor_announce(listener, "tcp");

    struct epoll_event events[512];
    while (!floor_stop) {
        int n = epoll_wait(ep, events, 512, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            floor_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener)
                accept_one(ep, listener, limit);
            else if (pending[fd].data)
                writable(ep, fd, &pending[fd]);
            else
                readable(ep, fd, &pending[fd]);
        }
    }
    return 0;
}
