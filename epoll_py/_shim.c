/*
 * epoll_py/_shim.c: the C under epoll_py, as small as Python allows.
 *
 * It adds only what plain libc calls cannot do cheaply or safely from Python:
 *
 * - the fd guard (below): every operation on an fd counts itself in and out,
 *   so close() never lets a number go while a syscall may still use it;
 * - epy_wait: the hot path.  One pointer argument (cffi dispatches a
 *   one-argument call as METH_O, the cheapest kind) to a preallocated
 *   epy_wait_state that owns the event buffer, so maxevents never exceeds
 *   the buffer.  After the syscall it copies data and events into two flat
 *   arrays and one packed array of pairs, which Python reads through
 *   memoryviews without building cdata objects;
 * - epoll_ctl, timerfd and busy-poll calls taking plain integers, one entry
 *   or a whole batch per crossing into C.
 *
 * Retrying on EINTR is not done here: a C loop would keep Python signal
 * handlers (and so Ctrl-C) from running.  The Python layer retries (PEP 475).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "_shim.h"

/* Like the constants in _shim.h: the kernel's ABI, missing from old headers. */
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* every architecture but alpha */
#endif
#define EPY_EPIOCSPARAMS _IOW(0x8A, 0x01, struct epy_busy_poll)
#define EPY_EPIOCGPARAMS _IOR(0x8A, 0x02, struct epy_busy_poll)
_Static_assert(sizeof(struct epy_busy_poll) == 8, "struct epoll_params is 8 bytes");
_Static_assert(sizeof(struct epy_pair) == 12, "struct epy_pair is packed");
_Static_assert(sizeof(struct epy_ctl_entry) == 20, "struct epy_ctl_entry is packed");

/* epy_finish: every event was a wake-up for another copy's close(). */
#define EPY_NOT_FOR_US (-EPY_ECLOSED - 1)

#define EPY_NS_PER_SEC INT64_C(1000000000)
#define EPY_NS_PER_MS INT64_C(1000000)

uint64_t epy_close_cookie;

/* A libc result, or -errno if it failed. */
static inline int epy_result(int rc)
{
    return rc < 0 ? -errno : rc;
}

static int64_t epy_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * EPY_NS_PER_SEC + ts.tv_nsec;
}

static struct timespec epy_timespec(int64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / EPY_NS_PER_SEC);
    ts.tv_nsec = (long)(ns % EPY_NS_PER_SEC);
    return ts;
}

static int64_t epy_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * EPY_NS_PER_SEC + ts->tv_nsec;
}

static struct epoll_event epy_event(uint32_t events, uint64_t data)
{
    /* memset: the kernel ABI struct may have padding on some architectures. */
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return ev;
}

/*
 * The fd guard
 * ------------
 * Go's internal/poll.fdMutex, reduced to what Python needs.  state packs
 *
 *     generation << 32 | operations in flight << 2 | CLOSED | CLOSING
 *
 * into one word changed only by atomic operations:
 *
 * - an operation enters (fails with -EPY_ECLOSED once CLOSING is set, else
 *   counts itself in), uses f->fd, and leaves;
 * - close() sets CLOSING, once; whoever leaves last (close() itself when
 *   nothing is in flight) sets CLOSED and closes the number.  So a number is
 *   closed exactly once, never while a syscall may use it, and no operation
 *   starts on it afterwards: another thread's new file cannot be touched;
 * - the generation is bumped in the child after fork.  The child inherits
 *   the parent's counts, but not the threads they belong to: an operation
 *   counted in another generation is not in flight here, so it is dropped.
 *   A child's close() then closes its own number and nothing else.
 *
 * Every entry point that uses an fd writes the protocol out: enter, the
 * syscall, leave (as Go's methods open with fd.incref and defer fd.decref);
 * a shared helper would have to take the syscall as a callback.
 */
#define EPY_CLOSING UINT64_C(1)
#define EPY_CLOSED UINT64_C(2)
#define EPY_ONE_OP UINT64_C(4)
#define EPY_OPS_MASK UINT64_C(0xFFFFFFFC)

static uint32_t epy_generation;

static void epy_after_fork_in_child(void)
{
    __atomic_add_fetch(&epy_generation, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void epy_init(void)
{
    pthread_atfork(NULL, NULL, epy_after_fork_in_child);
}

/* The state as this process sees it: counts of another generation dropped. */
static inline uint64_t epy_here(uint64_t state)
{
    uint64_t generation = __atomic_load_n(&epy_generation, __ATOMIC_RELAXED);
    if (state >> 32 == generation)
        return state;
    return generation << 32 | (state & (EPY_CLOSING | EPY_CLOSED));
}

static inline int epy_closing(struct epy_fd *f)
{
    return (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) & EPY_CLOSING) != 0;
}

static inline int epy_cas(struct epy_fd *f, uint64_t *old, uint64_t new_state)
{
    return __atomic_compare_exchange_n(&f->state, old, new_state, 1, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

/* The last one out: close the number (and close()'s wake-up eventfd).
   close(2) errors are not reported: on Linux the number is gone either way. */
static void epy_release(struct epy_fd *f)
{
    if (f->close_wake_fd >= 0) {
        close(f->close_wake_fd);
        f->close_wake_fd = -1;
    }
    close(f->fd);
}

static void epy_init_fd(struct epy_fd *f, int fd)
{
    f->origin = __atomic_load_n(&epy_generation, __ATOMIC_RELAXED);
    f->state = (uint64_t)f->origin << 32;
    f->fd = fd;
    f->close_wake_fd = -1;
    f->hide_waker = 0;
    f->waker_data = 0;
}

static inline int epy_enter(struct epy_fd *f)
{
    uint64_t old = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE), now;
    do {
        now = epy_here(old);
        if (now & EPY_CLOSING)
            return -EPY_ECLOSED;
        now += EPY_ONE_OP;
    } while (!epy_cas(f, &old, now));
    return f->fd;
}

static inline void epy_leave(struct epy_fd *f)
{
    /* One atomic subtraction, in the generation entered with (a fork leaves
       only its own thread).  The last one out of a closing fd claims the
       close with a compare-and-swap, which fails only if a close() in a
       forked child claimed it first. */
    uint64_t now = __atomic_sub_fetch(&f->state, EPY_ONE_OP, __ATOMIC_ACQ_REL);
    if ((now & (EPY_OPS_MASK | EPY_CLOSING | EPY_CLOSED)) == EPY_CLOSING &&
        __atomic_compare_exchange_n(&f->state, &now, now | EPY_CLOSED, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        epy_release(f);
}

/* The same for Python-level sections (Epoll.registrations); exported,
   while the shim's own calls use the inline versions. */
int epy_fd_enter(struct epy_fd *f)
{
    return epy_enter(f);
}

void epy_fd_leave(struct epy_fd *f)
{
    epy_leave(f);
}

/* Mark f closing and count close() itself in; return how many other
   operations were in flight, or -1 if close() had begun already. */
static int epy_begin_close(struct epy_fd *f)
{
    uint64_t old = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE), now;
    for (;;) {
        now = epy_here(old);
        if (!(now & EPY_CLOSING)) {
            if (epy_cas(f, &old, (now | EPY_CLOSING) + EPY_ONE_OP))
                return (int)((now & EPY_OPS_MASK) / EPY_ONE_OP);
        } else if (now & (EPY_OPS_MASK | EPY_CLOSED)) {
            return -1;
        } else if (epy_cas(f, &old, now | EPY_CLOSED)) {
            /* A close() the parent began before fork, waiting for threads
               the child does not have: finish it here, once. */
            epy_release(f);
            return -1;
        }
    }
}

void epy_fd_close(struct epy_fd *f)
{
    if (epy_begin_close(f) >= 0)
        epy_leave(f);
}

/* Wake the waits in flight on this epoll: add a readable, level-triggered
   eventfd whose events every wait drops (data epy_close_cookie).  A ready
   level-triggered file wakes every waiter, each passing the wake-up on, and
   keeps waking any wait still on its way in, until the last one out closes
   the eventfd, which removes it.  Runs counted in, so f->fd is open.  If it
   fails (no memory, no fds), the waits end at their timeout or next event. */
static void epy_wake_waits(struct epy_fd *f)
{
    struct epoll_event ev = epy_event(EPOLLIN, epy_close_cookie);
    int wake = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0)
        return;
    if (epoll_ctl(f->fd, EPOLL_CTL_ADD, wake, &ev) < 0) {
        close(wake);
        return;
    }
    /* Read by the last one out, after the compare-and-swap in epy_fd_leave. */
    f->close_wake_fd = wake;
}

void epy_epoll_close(struct epy_fd *f)
{
    int others = epy_begin_close(f);
    if (others < 0)
        return;
    if (others > 0)
        epy_wake_waits(f);
    epy_leave(f);
}

int epy_fd_fileno(struct epy_fd *f)
{
    return epy_closing(f) ? -EPY_ECLOSED : f->fd;
}

int epy_fd_closed(struct epy_fd *f)
{
    return epy_closing(f);
}

int epy_fd_inherited(struct epy_fd *f)
{
    return f->origin != __atomic_load_n(&epy_generation, __ATOMIC_RELAXED);
}

void epy_fd_adopt(struct epy_fd *f, int fd)
{
    epy_init_fd(f, fd);
}

int epy_fd_dup(struct epy_fd *f)
{
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    rc = epy_result(fcntl(fd, F_DUPFD_CLOEXEC, 0));
    epy_leave(f);
    return rc;
}

/* -- creating ------------------------------------------------------------ */

static int epy_created(struct epy_fd *f, int fd)
{
    if (fd < 0)
        return -errno;
    epy_init_fd(f, fd);
    return 0;
}

int epy_epoll_create(struct epy_fd *f)
{
    return epy_created(f, epoll_create1(EPOLL_CLOEXEC));
}

int epy_eventfd(struct epy_fd *f, unsigned int initval, int flags)
{
    return epy_created(f, eventfd(initval, flags | EFD_CLOEXEC));
}

int epy_timerfd_create(struct epy_fd *f, int clockid, int flags)
{
    return epy_created(f, timerfd_create(clockid, flags | TFD_CLOEXEC));
}

/* -- eventfd and timerfd I/O ------------------------------------------- */

/* SAFETY (all three): value points at one uint64_t owned by the caller. */
int epy_fd_read8(struct epy_fd *f, uint64_t *value)
{
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    rc = (int)read(fd, value, sizeof *value);
    rc = rc < 0 ? -errno : 0;
    epy_leave(f);
    return rc;
}

int epy_fd_write8(struct epy_fd *f, uint64_t value)
{
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    rc = (int)write(fd, &value, sizeof value);
    rc = rc < 0 ? -errno : 0;
    epy_leave(f);
    return rc;
}

int epy_fd_read8_wait(struct epy_fd *f, uint64_t *value)
{
    struct pollfd p;
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    p.fd = fd;
    p.events = POLLIN;
    for (;;) {
        if (read(fd, value, sizeof *value) >= 0) {
            rc = 0;
            break;
        }
        if (errno != EAGAIN || poll(&p, 1, -1) < 0) {
            rc = -errno; /* EINTR included: Python runs its handlers, then retries */
            break;
        }
    }
    epy_leave(f);
    return rc;
}

int epy_timerfd_settime(struct epy_fd *f, int64_t initial_ns, int64_t interval_ns)
{
    struct itimerspec its;
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    its.it_value = epy_timespec(initial_ns);
    its.it_interval = epy_timespec(interval_ns);
    rc = epy_result(timerfd_settime(fd, 0, &its, NULL));
    epy_leave(f);
    return rc;
}

/* SAFETY: out holds two int64_t (remaining, interval), allocated by Python. */
int epy_timerfd_gettime(struct epy_fd *f, int64_t *out)
{
    struct itimerspec its;
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    rc = epy_result(timerfd_gettime(fd, &its));
    if (rc == 0) {
        out[0] = epy_ns(&its.it_value);
        out[1] = epy_ns(&its.it_interval);
    }
    epy_leave(f);
    return rc;
}

/* -- the interest list ------------------------------------------------- */

static inline int epy_is_op(int op)
{
    return op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD || op == EPOLL_CTL_DEL;
}

/* epoll_ctl on an epoll fd that is counted in. */
static inline int epy_ctl_on(int epfd, int op, int fd, uint32_t events, uint64_t data)
{
    /* DEL ignores the event, but kernels before 2.6.9 required it non-NULL. */
    struct epoll_event ev = epy_event(events, data);
    return epy_result(epoll_ctl(epfd, op, fd, &ev));
}

int epy_ctl(struct epy_fd *ep, int op, int fd, uint32_t events, uint64_t data)
{
    int epfd, rc;
    if (!epy_is_op(op))
        return -EPY_EBADOP;
    epfd = epy_enter(ep);
    if (epfd < 0)
        return epfd;
    rc = epy_ctl_on(epfd, op, fd, events, data);
    epy_leave(ep);
    return rc;
}

int epy_add_fd(struct epy_fd *ep, int fd, uint32_t events)
{
    return epy_ctl(ep, EPOLL_CTL_ADD, fd, events, (uint64_t)(int64_t)fd);
}

int epy_mod_fd(struct epy_fd *ep, int fd, uint32_t events)
{
    return epy_ctl(ep, EPOLL_CTL_MOD, fd, events, (uint64_t)(int64_t)fd);
}

int epy_del(struct epy_fd *ep, int fd)
{
    return epy_ctl(ep, EPOLL_CTL_DEL, fd, 0, 0);
}

int epy_ctl_target(struct epy_fd *ep, int op, struct epy_fd *target, uint32_t events,
                   uint64_t data)
{
    int fd = epy_enter(target), rc;
    if (fd < 0)
        return fd; /* the target is closed */
    rc = epy_ctl(ep, op, fd, events, data);
    epy_leave(target);
    return rc;
}

/* Apply n entries in order; stop at the first failure, leaving the entries
   before it applied.  Every operation is checked before any is applied.
   SAFETY: entries holds n packed entries (Python packs exactly n); *done is
   one int. */
int epy_ctl_many(struct epy_fd *ep, const struct epy_ctl_entry *entries, int n, int *done)
{
    int i, epfd, rc = 0;
    *done = 0;
    for (i = 0; i < n; i++) {
        if (!epy_is_op(entries[i].op)) {
            *done = i;
            return -EPY_EBADOP;
        }
    }
    epfd = epy_enter(ep);
    if (epfd < 0)
        return epfd;
    for (i = 0; i < n && rc == 0; i++)
        rc = epy_ctl_on(epfd, entries[i].op, entries[i].fd, entries[i].events, entries[i].data);
    epy_leave(ep);
    *done = rc == 0 ? n : i - 1;
    return rc;
}

/* The same for columns, as epy_ctl_many.
   SAFETY: fds holds n ints, and events and data, unless NULL, n values each
   (Python checks every length); *done is one int. */
int epy_ctl_columns(struct epy_fd *ep, int op, const int32_t *fds, int n,
                    const uint32_t *events, uint32_t events_all, const uint64_t *data, int *done)
{
    struct epoll_event ev = epy_event(events_all, 0); /* one for all, as the C floor's */
    int i, epfd, rc = 0;
    *done = 0;
    if (!epy_is_op(op))
        return -EPY_EBADOP;
    epfd = epy_enter(ep);
    if (epfd < 0)
        return epfd;
    for (i = 0; i < n; i++) {
        if (events)
            ev.events = events[i];
        ev.data.u64 = data ? data[i] : (uint64_t)(int64_t)fds[i];
        if (epoll_ctl(epfd, op, fds[i], &ev) < 0) {
            rc = -errno;
            break;
        }
    }
    epy_leave(ep);
    *done = i;
    return rc;
}

static int epy_ioctl(struct epy_fd *ep, unsigned long request, void *arg)
{
    int epfd = epy_enter(ep), rc;
    if (epfd < 0)
        return epfd;
    rc = epy_result(ioctl(epfd, request, arg));
    epy_leave(ep);
    return rc;
}

int epy_set_busy_poll(struct epy_fd *ep, const struct epy_busy_poll *params)
{
    return epy_ioctl(ep, EPY_EPIOCSPARAMS, (void *)params);
}

int epy_get_busy_poll(struct epy_fd *ep, struct epy_busy_poll *params)
{
    return epy_ioctl(ep, EPY_EPIOCGPARAMS, params);
}

int epy_is_listening(int fd)
{
    int listening = 0;
    socklen_t size = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) < 0)
        return errno == ENOTSOCK ? 0 : -errno;
    return listening != 0;
}

/* -- waiting ----------------------------------------------------------- */

/* The raw syscall: glibc has a wrapper only since 2.35, and a binary that
   used it would not load on older systems.  It takes the kernel's sigset
   size (_NSIG / 8), not libc's.  ENOSYS before Linux 5.11. */
static int epy_sys_pwait2(int epfd, struct epoll_event *events, int maxevents,
                          const struct timespec *timeout, const sigset_t *sigmask)
{
    return (int)syscall(SYS_epoll_pwait2, epfd, events, maxevents, timeout, sigmask,
                        sigmask ? (size_t)(_NSIG / 8) : (size_t)0);
}

/* What to do with n events just returned: drop close()'s wake-ups and the
   hidden waker's, then fill the flat arrays.  Returns the count kept, or
   EPY_NOT_FOR_US if all were wake-ups of a close() on another copy of this epoll
   (a dup, or the same object in a forked relative): not for this wait.
   SAFETY: 0 < n <= s->maxevents <= s->capacity (the kernel never returns
   more than maxevents), and events, data, mask and pairs each hold
   s->capacity slots, allocated with s by EventArray and kept alive by it
   for as long as s is reachable. */
static int epy_finish(struct epy_wait_state *s, struct epy_fd *ep, int n)
{
    uint64_t cookie = epy_close_cookie;
    /* With the waker shown, its data is compared with the cookie instead. */
    uint64_t waker = ep->hide_waker ? ep->waker_data : cookie;
    int i, out = 0, woken = 0;
    for (i = 0; i < n; i++) {
        uint64_t data = s->events[i].data.u64;
        if (data == cookie || data == waker) {
            woken |= data == cookie;
            continue;
        }
        s->data[out] = data;
        s->mask[out] = s->events[i].events;
        out++;
    }
    if (out == 0 && woken && !epy_closing(ep))
        return EPY_NOT_FOR_US;
    /* Python reads the packed pairs only for few events (UNPACK_BELOW). */
    if (out < s->pairs_below) {
        for (i = 0; i < out; i++) {
            s->pairs[i].data = s->data[i];
            s->pairs[i].events = s->mask[i];
        }
    }
    return out;
}

/* Every wait: count in, wait (epoll_wait, or epoll_pwait with a mask, or
   epoll_pwait2 with a nanosecond timeout), finish, count out.  Inlined into
   each entry point, where the mode is a constant and the tests fold away.
   timeout_ns < 0 blocks; a wait woken only by another copy's close() goes on
   with the time left. */
enum epy_mode { EPY_WAIT, EPY_PWAIT, EPY_PWAIT2 };

static inline __attribute__((always_inline)) int epy_wait_in(struct epy_wait_state *s,
                                                             enum epy_mode mode,
                              const sigset_t *sigmask, int64_t timeout_ns)
{
    /* Read the shared fields once: another thread may rebind s (its own
       misuse, but never a crash). */
    struct epy_fd *ep = s->ep;
    int maxevents = s->maxevents, ms = s->timeout, epfd, n;
    struct timespec ts;
    int64_t deadline = 0;
    if (ep == NULL)
        return -EBADF;
    epfd = epy_enter(ep);
    if (epfd < 0)
        return epfd;
    if (mode != EPY_PWAIT2)
        timeout_ns = ms < 0 ? -1 : ms * EPY_NS_PER_MS;
    if (timeout_ns > 0) {
        s->started_ns = epy_monotonic_ns();
        deadline = s->started_ns + timeout_ns;
    }
    for (;;) {
        if (mode == EPY_WAIT) {
            n = epoll_wait(epfd, s->events, maxevents, ms);
        } else if (mode == EPY_PWAIT) {
            n = epoll_pwait(epfd, s->events, maxevents, ms, sigmask);
        } else {
            ts = epy_timespec(timeout_ns);
            n = epy_sys_pwait2(epfd, s->events, maxevents, timeout_ns < 0 ? NULL : &ts,
                               sigmask);
        }
        n = n > 0 ? epy_finish(s, ep, n) : epy_result(n);
        if (n != EPY_NOT_FOR_US)
            break;
        if (timeout_ns > 0) {
            int64_t left = deadline - epy_monotonic_ns();
            if (left <= 0) {
                n = 0;
                break;
            }
            timeout_ns = left;
            ms = (int)((left + EPY_NS_PER_MS - 1) / EPY_NS_PER_MS);
        } else if (timeout_ns == 0) {
            n = 0;
            break;
        }
    }
    epy_leave(ep);
    return n;
}

int epy_wait(struct epy_wait_state *s)
{
    return epy_wait_in(s, EPY_WAIT, NULL, 0);
}

int epy_pwait(struct epy_wait_state *s, const sigset_t *sigmask)
{
    return epy_wait_in(s, EPY_PWAIT, sigmask, 0);
}

int epy_pwait2(struct epy_wait_state *s, const sigset_t *sigmask, int64_t timeout_ns)
{
    return epy_wait_in(s, EPY_PWAIT2, sigmask, timeout_ns);
}

/* -- signalfd ---------------------------------------------------------- */
/* SignalFd (signalfd.py).  Creating, updating and reading run under the fd
   guard like the eventfd and timerfd calls above; reading blocks unless the
   fd is non-blocking, and EINTR goes back to Python (PEP 475). */

_Static_assert(sizeof(struct signalfd_siginfo) == 128, "struct signalfd_siginfo is 128 bytes");

int epy_signalfd(struct epy_fd *f, const sigset_t *mask, int flags)
{
    return epy_created(f, signalfd(-1, mask, flags | SFD_CLOEXEC));
}

int epy_signalfd_update(struct epy_fd *f, const sigset_t *mask)
{
    int fd = epy_enter(f), rc;
    if (fd < 0)
        return fd;
    rc = signalfd(fd, mask, 0) < 0 ? -errno : 0;
    epy_leave(f);
    return rc;
}

/* SAFETY: buf holds n records, 1 <= n <= INT_MAX / 128, allocated by Python
   (SignalBuffer checks the capacity); the kernel writes whole records only. */
int epy_signalfd_read(struct epy_fd *f, struct signalfd_siginfo *buf, int n)
{
    int fd, rc;
    ssize_t got;
    if (n < 1)
        return -EINVAL;
    fd = epy_enter(f);
    if (fd < 0)
        return fd;
    got = read(fd, buf, (size_t)n * sizeof *buf);
    rc = got < 0 ? -errno : (int)((size_t)got / sizeof *buf);
    epy_leave(f);
    return rc;
}
/* -- end signalfd -- */
