# Type stub for the cffi-generated extension ``epoll_py._epoll`` (see build_epoll.py).
# Integer parameters the Python layer passes unchecked are typed ``object``:
# cffi converts them itself, raising TypeError or OverflowError.
from typing import Any

class _Lib:
    EPOLLIN: int
    EPOLLPRI: int
    EPOLLOUT: int
    EPOLLERR: int
    EPOLLHUP: int
    EPOLLRDNORM: int
    EPOLLRDBAND: int
    EPOLLWRNORM: int
    EPOLLWRBAND: int
    EPOLLMSG: int
    EPOLLRDHUP: int
    EPOLLEXCLUSIVE: int
    EPOLLWAKEUP: int
    EPOLLONESHOT: int
    EPOLLET: int
    EPOLL_CLOEXEC: int
    EPOLL_CTL_ADD: int
    EPOLL_CTL_DEL: int
    EPOLL_CTL_MOD: int
    EFD_CLOEXEC: int
    EFD_NONBLOCK: int
    EFD_SEMAPHORE: int
    TFD_CLOEXEC: int
    TFD_NONBLOCK: int
    TFD_TIMER_ABSTIME: int
    CLOCK_REALTIME: int
    CLOCK_MONOTONIC: int
    CLOCK_BOOTTIME: int
    CLOCK_REALTIME_ALARM: int
    CLOCK_BOOTTIME_ALARM: int
    EPY_HAVE_EPOLL_PWAIT2: int
    EPY_EBADOP: int
    EPY_EPIOCSPARAMS: int
    EPY_EPIOCGPARAMS: int
    def epy_epoll_create(self, /) -> int: ...
    def epy_eventfd(self, initval: int, flags: int, /) -> int: ...
    def epy_timerfd_create(self, clockid: int, flags: int, /) -> int: ...
    def sigemptyset(self, set: Any, /) -> int: ...
    def sigaddset(self, set: Any, signum: int, /) -> int: ...
    def epy_wait(self, s: Any, /) -> int: ...
    def epy_pwait(self, s: Any, sigmask: Any, /) -> int: ...
    def epy_pwait2(self, s: Any, sigmask: Any, timeout_ns: int, /) -> int: ...
    def epy_ctl(self, ep: Any, op: object, fd: object, events: object, data: object, /) -> int: ...
    def epy_add_fd(self, ep: Any, fd: object, events: object, /) -> int: ...
    def epy_mod_fd(self, ep: Any, fd: object, events: object, /) -> int: ...
    def epy_del(self, ep: Any, fd: object, /) -> int: ...
    def epy_ctl_many(self, ep: Any, entries: Any, n: int, done: Any, /) -> int: ...
    def epy_set_busy_poll(self, ep: Any, params: Any, /) -> int: ...
    def epy_get_busy_poll(self, ep: Any, params: Any, /) -> int: ...
    def epy_timerfd_settime(
        self, fd: int, flags: int, initial_ns: int, interval_ns: int, /
    ) -> int: ...
    def epy_timerfd_gettime(self, fd: int, out: Any, /) -> int: ...

ffi: Any
lib: _Lib
