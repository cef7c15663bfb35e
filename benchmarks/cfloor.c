/* The C floor: the benchmark's loops written entirely in C.
 *
 * What no Python binding can beat: the same syscalls, back to back, timed
 * with CLOCK_MONOTONIC around the whole loop.  cfloor.py compiles this file
 * with the system compiler (-O2, like the extension) and loads it through
 * cffi's ABI mode; each function is called once per sample, so how it is
 * called does not matter.
 */
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* `iterations` waits with `timeout` (ms) into `events` (capacity slots),
 * reading data and events of every ready event, as the Python loops do.
 * Returns the elapsed nanoseconds, or -1 if a wait failed. */
int64_t floor_wait(int epfd, struct epoll_event *events, int capacity, int iterations,
                   int timeout)
{
    volatile uint64_t sink = 0;
    int64_t start = now_ns();
    for (int k = 0; k < iterations; k++) {
        int n = epoll_wait(epfd, events, capacity, timeout);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            sink += events[i].data.u64 ^ events[i].events;
    }
    (void)sink;
    return now_ns() - start;
}

/* epoll_ctl(op) on each of n fds, data = the fd.  Returns the elapsed
 * nanoseconds, or -1 if a call failed. */
int64_t floor_ctl(int epfd, int op, const int *fds, int n, uint32_t events)
{
    struct epoll_event ev = {0};
    int64_t start = now_ns();
    for (int i = 0; i < n; i++) {
        ev.events = events;
        ev.data.u64 = (uint64_t)fds[i];
        if (epoll_ctl(epfd, op, fds[i], &ev) < 0)
            return -1;
    }
    return now_ns() - start;
}
