/*
 * epoll_py/_shim.h: the interface of the C shim under epoll_py (_shim.c).
 *
 * Read twice.  The C compiler includes it from _shim.c and from the module
 * cffi generates, so every definition below is checked against its use.
 * build_epoll.py hands the same text to cffi as the declarations Python
 * sees, after dropping the preprocessor lines that are not integer constants
 * and attributes, and after letting the compiler fix every struct's layout
 * (it adds "...;" to each).  So keep to plain declarations here: structs,
 * prototypes, and integer #defines.
 *
 * The contract of every function returning int: a count, a number or 0 on
 * success, -errno on failure.  errno itself is never the channel: a Python
 * signal handler running right after a call may make cffi calls of its own.
 */
#ifndef EPY_SHIM_H
#define EPY_SHIM_H

#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/epoll.h>
/* And what else declares the constants Python reads (_system.cdef). */
#include <sys/eventfd.h>
#include <sys/timerfd.h>

/* Constants only new headers have; the values are the kernel's ABI, so one
   binary built on an old system works on a new one and the reverse. */
#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE (1u << 28)
#endif

/* Returned (negated) by an operation on an object close() has begun to close;
   above every errno (MAX_ERRNO is 4095), so never confused with one. */
#define EPY_ECLOSED 4097
/* Returned (negated) for an epoll_ctl operation that is not ADD, MOD or DEL. */
#define EPY_EBADOP 4096

/*
 * An fd shared by operations and closed exactly once: the state of every
 * fd-owning object (Epoll, EventFd, TimerFd, the Waker's eventfd).  Python
 * never reads or writes its fields; see "The fd guard" in _shim.c.
 */
struct epy_fd {
    uint64_t state;     /* atomic: generation, operations in flight, closing, closed */
    int fd;             /* the number, fixed at creation, closed once */
    int close_wake_fd;  /* epoll: the eventfd close() added to wake waits, or -1 */
    uint32_t origin;      /* the fork generation that created it */
    uint32_t hide_waker;  /* epoll: waits drop events whose data is waker_data */
    uint64_t waker_data;  /* epoll: the data value of the Waker's events */
};

/* One ready event as Python reads it with struct "=QI": packed, 12 bytes. */
struct epy_pair {
    uint64_t data;
    uint32_t events;
} __attribute__((packed));

/* The reusable part of a wait; one per EventArray, which owns the buffers. */
struct epy_wait_state {
    struct epy_fd *ep;    /* the epoll it is bound to; NULL until then */
    int timeout;          /* milliseconds, -1 blocks */
    int capacity;         /* slots in each buffer below; fixed at creation */
    int maxevents;        /* what the kernel is given: 1..capacity */
    int pairs_below;      /* fill pairs only for fewer events than this */
    int64_t started_ns;   /* CLOCK_MONOTONIC when the last timed wait began */
    struct epoll_event *events;  /* what the kernel writes */
    uint64_t *data;              /* flat copies of events[i].data.u64 */
    uint32_t *mask;              /* flat copies of events[i].events */
    struct epy_pair *pairs;      /* the same, interleaved */
};

/* One ctl_many entry as Python packs it with struct "=iiIQ": 20 bytes. */
struct epy_ctl_entry {
    int32_t op;
    int32_t fd;
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

/* struct epoll_params (Linux 6.9, uapi/linux/eventpoll.h), for busy polling. */
struct epy_busy_poll {
    uint32_t busy_poll_usecs;
    uint16_t busy_poll_budget;
    uint8_t prefer_busy_poll;
    uint8_t pad;
};

/* -- creating: fill *f and return 0, or return -errno with nothing open -- */
int epy_epoll_create(struct epy_fd *f);
int epy_eventfd(struct epy_fd *f, unsigned int initval, int flags);
int epy_timerfd_create(struct epy_fd *f, int clockid, int flags);
/* Take ownership of an open fd (fromfd, dup); never fails. */
void epy_fd_adopt(struct epy_fd *f, int fd);
/* A close-on-exec duplicate of f's fd (to adopt), or -errno. */
int epy_fd_dup(struct epy_fd *f);

/* -- the lifecycle -- */
/* The number, or -EPY_ECLOSED once close() has begun. */
int epy_fd_fileno(struct epy_fd *f);
/* 1 once close() has begun, else 0. */
int epy_fd_closed(struct epy_fd *f);
/* 1 if f was created in a parent process and inherited through fork. */
int epy_fd_inherited(struct epy_fd *f);
/* Begin closing (idempotent): the number is closed when the last operation
   in flight leaves, now if there is none.  Never fails. */
void epy_fd_close(struct epy_fd *f);
/* The same for an epoll, and first wake the waits in flight in this process. */
void epy_epoll_close(struct epy_fd *f);
/* Count a Python-level operation in (the number, or -EPY_ECLOSED) and out. */
int epy_fd_enter(struct epy_fd *f);
void epy_fd_leave(struct epy_fd *f);

/* -- eventfd and timerfd I/O: 8-byte counters -- */
int epy_fd_read8(struct epy_fd *f, uint64_t *value);
int epy_fd_write8(struct epy_fd *f, uint64_t value);
/* Block until readable, then read (TimerFd.wait, even on a non-blocking fd). */
int epy_fd_read8_wait(struct epy_fd *f, uint64_t *value);
int epy_timerfd_settime(struct epy_fd *f, int64_t initial_ns, int64_t interval_ns);
int epy_timerfd_gettime(struct epy_fd *f, int64_t *remaining_and_interval);

/* -- the interest list -- */
int epy_ctl(struct epy_fd *ep, int op, int fd, uint32_t events, uint64_t data);
/* Fewer arguments are cheaper calls: data = fd, or no event at all. */
int epy_add_fd(struct epy_fd *ep, int fd, uint32_t events);
int epy_mod_fd(struct epy_fd *ep, int fd, uint32_t events);
int epy_del(struct epy_fd *ep, int fd);
/* ctl on a file epoll_py owns, holding its guard too. */
int epy_ctl_target(struct epy_fd *ep, int op, struct epy_fd *target, uint32_t events,
                   uint64_t data);
int epy_ctl_many(struct epy_fd *ep, const struct epy_ctl_entry *entries, int n, int *done);
/* op on n fds in columns: events[i] (or events_all if events is NULL), and
   data[i] (or the fd if data is NULL).  *done: how many were applied. */
int epy_ctl_columns(struct epy_fd *ep, int op, const int32_t *fds, int n,
                    const uint32_t *events, uint32_t events_all, const uint64_t *data, int *done);
int epy_set_busy_poll(struct epy_fd *ep, const struct epy_busy_poll *params);
/* 1 if fd is a listening socket (SO_ACCEPTCONN), 0 if not or not a socket,
   or -errno (EBADF). */
int epy_is_listening(int fd);
int epy_get_busy_poll(struct epy_fd *ep, struct epy_busy_poll *params);

/* -- waiting: the number of events in s's buffers, or -errno -- */
int epy_wait(struct epy_wait_state *s);
int epy_pwait(struct epy_wait_state *s, const sigset_t *sigmask);
int epy_pwait2(struct epy_wait_state *s, const sigset_t *sigmask, int64_t timeout_ns);

/* The data value of the events close() uses to wake waits; every wait drops
   them.  Random, set once by Python at import. */
extern uint64_t epy_close_cookie;

/* -- signalfd -- */
/* Signals as a readable file (SignalFd, signalfd.py).  struct signalfd_siginfo
   is declared for cffi in _system.cdef; the compiler checks it against this. */
#include <sys/signalfd.h>

/* Create a signalfd for mask, with flags | SFD_CLOEXEC. */
int epy_signalfd(struct epy_fd *f, const sigset_t *mask, int flags);
/* Replace the set of signals it reads (signalfd(fd, mask, 0)). */
int epy_signalfd_update(struct epy_fd *f, const sigset_t *mask);
/* Read up to n records into buf (n >= 1): the number read, or -errno. */
int epy_signalfd_read(struct epy_fd *f, struct signalfd_siginfo *buf, int n);
/* -- end signalfd -- */

#endif /* EPY_SHIM_H */
