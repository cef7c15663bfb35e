"""cffi builder for ``epoll_py._epoll``, the compiled core of epoll_py.

Out-of-line API mode: the declarations below (``CDEF``) are checked against
the real system headers by the C compiler, so struct layouts and every
``EPOLL*``/``EFD_*``/``TFD_*`` constant come from ``<sys/epoll.h>`` and
friends, never from this file.

The shim (``SOURCE``) is deliberately small.  It adds only what plain libc
calls cannot do cheaply from Python:

* ``epy_wait``: the hot path.  One pointer argument (cffi dispatches a
  one-argument call as ``METH_O``, the cheapest kind) to a preallocated
  ``epy_wait_state`` that owns the event buffer, so ``maxevents`` is always
  the buffer's own capacity.  After the syscall it copies ``data`` and
  ``events`` into two flat arrays and one packed array of pairs, which
  Python reads through memoryviews without building cdata objects.
* ``epy_pwait`` / ``epy_pwait2``: the same with a signal mask and a
  nanosecond timeout.
* ``epy_ctl`` / ``epy_ctl_many``: ``epoll_ctl`` taking plain integers, one
  entry or a whole batch per crossing into C.
* Every helper returns ``-errno`` on failure instead of relying on
  ``ffi.errno``, which a signal handler running right after the call could
  overwrite with a cffi call of its own.
* timerfd and busy-poll helpers that take integers instead of structs.

Retrying on ``EINTR`` is *not* done here: a C loop would keep Python signal
handlers (and so Ctrl-C) from running.  The Python layer retries (PEP 475).

Build it with ``pip install .`` (``pip install -e .`` builds in place);
``python build_epoll.py`` also builds in place, without pip.
"""

from __future__ import annotations

from cffi import FFI

CDEF = r"""
typedef union epoll_data {
    void *ptr;
    int fd;
    uint32_t u32;
    uint64_t u64;
} epoll_data_t;

/* "...;" lets the compiler fix the layout: packed, 12 bytes on x86_64. */
struct epoll_event {
    uint32_t events;
    epoll_data_t data;
    ...;
};

typedef struct { ...; } sigset_t;

#define EPOLLIN ...
#define EPOLLPRI ...
#define EPOLLOUT ...
#define EPOLLERR ...
#define EPOLLHUP ...
#define EPOLLRDNORM ...
#define EPOLLRDBAND ...
#define EPOLLWRNORM ...
#define EPOLLWRBAND ...
#define EPOLLMSG ...
#define EPOLLRDHUP ...
#define EPOLLEXCLUSIVE ...
#define EPOLLWAKEUP ...
#define EPOLLONESHOT ...
#define EPOLLET ...
#define EPOLL_CLOEXEC ...
#define EPOLL_CTL_ADD ...
#define EPOLL_CTL_DEL ...
#define EPOLL_CTL_MOD ...

#define EFD_CLOEXEC ...
#define EFD_NONBLOCK ...
#define EFD_SEMAPHORE ...

#define TFD_CLOEXEC ...
#define TFD_NONBLOCK ...
#define TFD_TIMER_ABSTIME ...
#define CLOCK_REALTIME ...
#define CLOCK_MONOTONIC ...
#define CLOCK_BOOTTIME ...
#define CLOCK_REALTIME_ALARM ...
#define CLOCK_BOOTTIME_ALARM ...

int sigemptyset(sigset_t *set);
int sigaddset(sigset_t *set, int signum);

/* Every epy_* function returns a count or 0 on success and -errno on
   failure: a Python signal handler that runs right after the call returns
   may make cffi calls of its own and overwrite ffi.errno. */
int epy_epoll_create(void);
int epy_eventfd(unsigned int initval, int flags);
int epy_timerfd_create(int clockid, int flags);

/* The epoll instance as C sees it; one per Epoll object. */
struct epy_epoll {
    int epfd;             /* -1 once closed */
    int hide_waker;       /* waits drop events whose data is waker_data */
    uint64_t waker_data;  /* the data value that marks the waker's events */
};

/* One ready event as Python reads it with struct "=QI": packed, 12 bytes. */
struct epy_pair {
    uint64_t data;
    uint32_t events;
    ...;
};

/* The reusable part of a wait; one per EventArray. */
struct epy_wait_state {
    struct epy_epoll *ep; /* bound by Epoll.wait; NULL until then */
    int timeout;          /* milliseconds, -1 blocks */
    int capacity;         /* slots in each buffer below; fixed at creation */
    int64_t started_ns;   /* CLOCK_MONOTONIC when the last timed wait began */
    int pairs_below;      /* fill pairs only for fewer events than this */
    struct epoll_event *events;  /* what the kernel writes */
    uint64_t *data;              /* flat copies of events[i].data.u64 */
    uint32_t *mask;              /* flat copies of events[i].events */
    struct epy_pair *pairs;      /* the same, interleaved */
};

struct epy_busy_poll {
    uint32_t busy_poll_usecs;
    uint16_t busy_poll_budget;
    uint8_t prefer_busy_poll;
    uint8_t pad;
};

int epy_wait(struct epy_wait_state *s);
int epy_pwait(struct epy_wait_state *s, const sigset_t *sigmask);
int epy_pwait2(struct epy_wait_state *s, const sigset_t *sigmask, int64_t timeout_ns);
int epy_ctl(struct epy_epoll *ep, int op, int fd, uint32_t events, uint64_t data);
/* Fewer arguments are cheaper calls: data = fd, or no event at all. */
int epy_add_fd(struct epy_epoll *ep, int fd, uint32_t events);
int epy_mod_fd(struct epy_epoll *ep, int fd, uint32_t events);
int epy_del(struct epy_epoll *ep, int fd);
/* One ctl_many entry as Python packs it with struct "=iiIQ": 20 bytes. */
struct epy_ctl_entry {
    int32_t op;
    int32_t fd;
    uint32_t events;
    uint64_t data;
    ...;
};
int epy_ctl_many(struct epy_epoll *ep, const struct epy_ctl_entry *entries, int n, int *done);
int epy_set_busy_poll(struct epy_epoll *ep, const struct epy_busy_poll *params);
int epy_get_busy_poll(struct epy_epoll *ep, struct epy_busy_poll *params);
int epy_timerfd_settime(int fd, int flags, int64_t initial_ns, int64_t interval_ns);
int epy_timerfd_gettime(int fd, int64_t *remaining_and_interval);

/* Returned (negated) for an operation that is not ADD, MOD or DEL; above
   every errno (MAX_ERRNO is 4095), so never confused with one. */
#define EPY_EBADOP 4096

extern const int EPY_HAVE_EPOLL_PWAIT2;
extern const unsigned long EPY_EPIOCSPARAMS;
extern const unsigned long EPY_EPIOCGPARAMS;
"""

SOURCE = r"""
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

struct epy_epoll {
    int epfd;
    int hide_waker;
    uint64_t waker_data;
};

struct epy_pair {
    uint64_t data;
    uint32_t events;
} __attribute__((packed));

struct epy_wait_state {
    struct epy_epoll *ep;
    int timeout;
    int capacity;
    int64_t started_ns;
    int pairs_below;
    struct epoll_event *events;
    uint64_t *data;
    uint32_t *mask;
    struct epy_pair *pairs;
};

struct epy_busy_poll {
    uint32_t busy_poll_usecs;
    uint16_t busy_poll_budget;
    uint8_t prefer_busy_poll;
    uint8_t pad;
};

struct epy_ctl_entry {
    int32_t op;
    int32_t fd;
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

/* struct epoll_params and its ioctls (Linux 6.9, uapi/linux/eventpoll.h);
   libc headers often lack them, and the layout is fixed by the kernel ABI. */
_Static_assert(sizeof(struct epy_busy_poll) == 8, "struct epoll_params is 8 bytes");
const unsigned long EPY_EPIOCSPARAMS = _IOW(0x8A, 0x01, struct epy_busy_poll);
const unsigned long EPY_EPIOCGPARAMS = _IOR(0x8A, 0x02, struct epy_busy_poll);

/* A libc result, or -errno if it failed. */
static inline int epy_result(int rc)
{
    return rc < 0 ? -errno : rc;
}

int epy_epoll_create(void)
{
    return epy_result(epoll_create1(EPOLL_CLOEXEC));
}

int epy_eventfd(unsigned int initval, int flags)
{
    return epy_result(eventfd(initval, flags | EFD_CLOEXEC));
}

int epy_timerfd_create(int clockid, int flags)
{
    return epy_result(timerfd_create(clockid, flags | TFD_CLOEXEC));
}

static int64_t epy_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Common tail of every wait: hide the waker and fill the flat arrays.
   The waker is an edge-triggered eventfd: every write is a new edge, so it
   never needs draining and this code never touches its fd (which another
   thread may be closing).
   SAFETY: 0 <= n <= s->capacity (the kernel never returns more than the
   maxevents we gave it, which is s->capacity), and events, data, mask and
   pairs each hold s->capacity slots, allocated with s by EventArray and
   kept alive by it for as long as s is reachable. */
static int epy_finish(struct epy_wait_state *s, struct epy_epoll *ep, int n)
{
    int i, out = n;
    if (ep->hide_waker) {
        uint64_t waker = ep->waker_data;
        out = 0;
        for (i = 0; i < n; i++) {
            if (s->events[i].data.u64 == waker)
                continue;
            if (out != i)
                s->events[out] = s->events[i];
            out++;
        }
    }
    for (i = 0; i < out; i++) {
        s->data[i] = s->events[i].data.u64;
        s->mask[i] = s->events[i].events;
    }
    /* Python reads the packed pairs only for few events (UNPACK_BELOW). */
    if (out < s->pairs_below) {
        for (i = 0; i < out; i++) {
            s->pairs[i].data = s->data[i];
            s->pairs[i].events = s->mask[i];
        }
    }
    return out;
}

/* epoll_wait, or epoll_pwait when a mask is given; inlined into both entry
   points, where sigmask is a constant and the test folds away. */
static inline int epy_wait_masked(struct epy_wait_state *s, const sigset_t *sigmask)
{
    /* Read the shared fields once: another thread may rebind s while this
       one waits with the GIL released. */
    struct epy_epoll *ep = s->ep;
    int timeout = s->timeout;
    int n;
    if (ep == NULL)
        return -EBADF;
    if (timeout > 0)
        s->started_ns = epy_monotonic_ns();
    if (sigmask == NULL)
        n = epoll_wait(ep->epfd, s->events, s->capacity, timeout);
    else
        n = epoll_pwait(ep->epfd, s->events, s->capacity, timeout, sigmask);
    return n > 0 ? epy_finish(s, ep, n) : epy_result(n);
}

int epy_wait(struct epy_wait_state *s)
{
    return epy_wait_masked(s, NULL);
}

int epy_pwait(struct epy_wait_state *s, const sigset_t *sigmask)
{
    return epy_wait_masked(s, sigmask);
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
const int EPY_HAVE_EPOLL_PWAIT2 = 1;
#define epy_sys_pwait2 epoll_pwait2
#elif defined(SYS_epoll_pwait2)
const int EPY_HAVE_EPOLL_PWAIT2 = 1;
#include <signal.h>
static int epy_sys_pwait2(int epfd, struct epoll_event *events, int maxevents,
                          const struct timespec *timeout, const sigset_t *sigmask)
{
    /* The raw syscall takes the kernel's sigset size (_NSIG / 8), not libc's. */
    return (int)syscall(SYS_epoll_pwait2, epfd, events, maxevents, timeout,
                        sigmask, sigmask ? (size_t)(_NSIG / 8) : (size_t)0);
}
#else
const int EPY_HAVE_EPOLL_PWAIT2 = 0;
static int epy_sys_pwait2(int epfd, struct epoll_event *events, int maxevents,
                          const struct timespec *timeout, const sigset_t *sigmask)
{
    (void)epfd; (void)events; (void)maxevents; (void)timeout; (void)sigmask;
    errno = ENOSYS;
    return -1;
}
#endif

int epy_pwait2(struct epy_wait_state *s, const sigset_t *sigmask, int64_t timeout_ns)
{
    struct epy_epoll *ep = s->ep;
    struct timespec ts, *tsp = NULL;
    int n;
    if (ep == NULL)
        return -EBADF;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    if (timeout_ns > 0)
        s->started_ns = epy_monotonic_ns();
    n = epy_sys_pwait2(ep->epfd, s->events, s->capacity, tsp, sigmask);
    return n > 0 ? epy_finish(s, ep, n) : epy_result(n);
}

#define EPY_EBADOP 4096

int epy_ctl(struct epy_epoll *ep, int op, int fd, uint32_t events, uint64_t data)
{
    /* DEL ignores the event, but kernels before 2.6.9 required it non-NULL. */
    struct epoll_event ev;
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
        return -EPY_EBADOP;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epy_result(epoll_ctl(ep->epfd, op, fd, &ev));
}

int epy_add_fd(struct epy_epoll *ep, int fd, uint32_t events)
{
    return epy_ctl(ep, EPOLL_CTL_ADD, fd, events, (uint64_t)(int64_t)fd);
}

int epy_mod_fd(struct epy_epoll *ep, int fd, uint32_t events)
{
    return epy_ctl(ep, EPOLL_CTL_MOD, fd, events, (uint64_t)(int64_t)fd);
}

int epy_del(struct epy_epoll *ep, int fd)
{
    return epy_ctl(ep, EPOLL_CTL_DEL, fd, 0, 0);
}

/* Apply n entries in order; stop at the first failure, leaving the entries
   before it applied.  Every operation is checked before any is applied.
   SAFETY: entries holds n packed entries (Python packs exactly n); *done is
   one int. */
int epy_ctl_many(struct epy_epoll *ep, const struct epy_ctl_entry *entries, int n, int *done)
{
    int i;
    for (i = 0; i < n; i++) {
        int op = entries[i].op;
        if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) {
            *done = i;
            return -EPY_EBADOP;
        }
    }
    for (i = 0; i < n; i++) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.events = entries[i].events;
        ev.data.u64 = entries[i].data;
        if (epoll_ctl(ep->epfd, entries[i].op, entries[i].fd, &ev) < 0) {
            *done = i;
            return -errno;
        }
    }
    *done = n;
    return 0;
}

int epy_set_busy_poll(struct epy_epoll *ep, const struct epy_busy_poll *params)
{
    return epy_result(ioctl(ep->epfd, EPY_EPIOCSPARAMS, params));
}

int epy_get_busy_poll(struct epy_epoll *ep, struct epy_busy_poll *params)
{
    return epy_result(ioctl(ep->epfd, EPY_EPIOCGPARAMS, params));
}

static void epy_ns_to_timespec(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

int epy_timerfd_settime(int fd, int flags, int64_t initial_ns, int64_t interval_ns)
{
    struct itimerspec its;
    epy_ns_to_timespec(initial_ns, &its.it_value);
    epy_ns_to_timespec(interval_ns, &its.it_interval);
    return epy_result(timerfd_settime(fd, flags, &its, NULL));
}

/* SAFETY: out holds two int64_t (remaining, interval), allocated by Python. */
int epy_timerfd_gettime(int fd, int64_t *out)
{
    struct itimerspec its;
    if (timerfd_gettime(fd, &its) < 0)
        return -errno;
    out[0] = (int64_t)its.it_value.tv_sec * 1000000000 + its.it_value.tv_nsec;
    out[1] = (int64_t)its.it_interval.tv_sec * 1000000000 + its.it_interval.tv_nsec;
    return 0;
}
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "epoll_py._epoll",
    SOURCE,
    # cffi's generated layout check takes the address of the packed member
    # epoll_event.data (it only compares types); that is fine.
    extra_compile_args=["-O2", "-Wno-address-of-packed-member"],
)

if __name__ == "__main__":
    # Build in place (epoll_py/_epoll*.so) without pip.  cffi builds inside
    # its tmpdir, where setuptools would read this project's pyproject.toml,
    # so build in a scratch directory and copy the module in.
    import os
    import shutil
    import tempfile

    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as scratch:
        built = ffibuilder.compile(tmpdir=scratch, verbose=True)
        shutil.copy(built, os.path.join(here, "epoll_py"))
