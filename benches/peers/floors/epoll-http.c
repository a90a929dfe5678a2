/* epoll-http: the floor for HTTP keep-alive and pipelining.
 *
 * What one core does with nothing on top of the system calls: one
 * level-triggered epoll set, and per readable event one recv(), then one
 * fixed `200 Hello, World!` for every complete request head ("\r\n\r\n")
 * that read completed, all of them in one send(). It parses nothing: no
 * method, no path, no body (a request with a body would be misread), so
 * it is a floor to measure against, not a server. The Date header is
 * rebuilt once a second, as every real server does.
 *
 * A head split across reads is carried to the next read (at most
 * MAX_HEAD bytes, else the connection is closed); a short send() keeps
 * the rest and waits for EPOLLOUT, reading nothing meanwhile.
 *
 *   cc -O2 -o epoll-http epoll-http.c && ./epoll-http --bind 127.0.0.1:0 */
#include "floor.h"

#include <sys/epoll.h>
#include <time.h>

#define MAX_HEAD 8192
#define READ_SIZE (64 * 1024)

struct conn {
    char *head; /* the start of a request head the last read did not finish */
    size_t head_len;
    char *out; /* what a short send() left */
    size_t out_len, out_off;
};

static char in[MAX_HEAD + READ_SIZE];
static char *out;
static size_t out_cap;
static char response[256];
static size_t response_len;
static time_t response_second;

/* The one answer, with today's Date; rebuilt when the second changes. */
static void refresh_response(void) {
    time_t now = time(NULL);
    if (now == response_second)
        return;
    char date[64];
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    response_len = (size_t)snprintf(response, sizeof response,
                                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 13\r\nDate: %s\r\n\r\nHello, World!",
                                    date);
    response_second = now;
}

static void watch(int ep, int op, int fd, unsigned events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(ep, op, fd, &ev) < 0)
        floor_die("epoll_ctl");
}

static void drop(int fd, struct conn *c) {
    free(c->head);
    free(c->out);
    memset(c, 0, sizeof *c);
    close(fd);
}

static void accept_one(int ep, int listener, size_t limit) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if ((size_t)fd >= limit) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN);
}

/* Counts the complete heads in in[0..len) and keeps what follows the
 * last one in c->head. Returns -1 if that rest is too long to be a head. */
static long heads(struct conn *c, size_t len) {
    long count = 0;
    size_t done = 0;
    char *end;
    while ((end = memmem(in + done, len - done, "\r\n\r\n", 4)) != NULL) {
        count++;
        done = (size_t)(end - in) + 4;
    }
    size_t rest = len - done;
    if (rest > MAX_HEAD)
        return -1;
    if (rest > 0) {
        if (!c->head && !(c->head = malloc(MAX_HEAD)))
            floor_die("malloc");
        memcpy(c->head, in + done, rest);
    }
    c->head_len = rest;
    return count;
}

static void readable(int ep, int fd, struct conn *c) {
    if (c->head_len)
        memcpy(in, c->head, c->head_len);
    ssize_t n = recv(fd, in + c->head_len, READ_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    long count = n > 0 ? heads(c, c->head_len + (size_t)n) : -1;
    if (count < 0) {
        drop(fd, c);
        return;
    }
    size_t len = (size_t)count * response_len;
    if (len == 0)
        return;
    if (len > out_cap && !(out = realloc(out, out_cap = len)))
        floor_die("realloc");
    for (long i = 0; i < count; i++)
        memcpy(out + (size_t)i * response_len, response, response_len);
    ssize_t w = send(fd, out, len, MSG_NOSIGNAL);
    if (w == (ssize_t)len)
        return;
    if (w < 0 && errno != EAGAIN) {
        drop(fd, c);
        return;
    }
    size_t sent = w < 0 ? 0 : (size_t)w;
    c->out_len = len - sent;
    c->out_off = 0;
    if (!(c->out = malloc(c->out_len)))
        floor_die("malloc");
    memcpy(c->out, out + sent, c->out_len);
    watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
}

static void writable(int ep, int fd, struct conn *c) {
    ssize_t w = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR)
            drop(fd, c);
        return;
    }
    c->out_off += (size_t)w;
    if (c->out_off < c->out_len)
        return;
    free(c->out);
    c->out = NULL;
    watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
}

int main(int argc, char **argv) {
    const char *bind_to = floor_bind_arg(argc, argv, "epoll-http --bind HOST:PORT");
    size_t limit = floor_setup();
    struct conn *conns = calloc(limit, sizeof *conns);
    if (!conns)
        floor_die("calloc");
    int listener = floor_bind(bind_to, SOCK_STREAM, 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        floor_die("epoll_create1");
    watch(ep, EPOLL_CTL_ADD, listener, EPOLLIN);
    floor_announce(listener, "http");

    struct epoll_event events[512];
    while (!floor_stop) {
        int n = epoll_wait(ep, events, 512, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            floor_die("epoll_wait");
        refresh_response();
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener)
                accept_one(ep, listener, limit);
            else if (conns[fd].out)
                writable(ep, fd, &conns[fd]);
            else
                readable(ep, fd, &conns[fd]);
        }
    }
    return 0;
}
