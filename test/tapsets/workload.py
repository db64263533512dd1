"""Known kernel activity for the tapset tests (test/src/compiler/tapset-*.test.ts).

  workload.py syscalls DIR PORT   every call tapsets/syscalls.tap names, with known arguments
  workload.py sched DIR           sleeps (off-CPU, run-queue), a fork and an exit
  workload.py tcp DIR PORT        on PORT..PORT+3: a loopback connection reset by its peer, a refused
                                  connection, SYN retransmits, SYN-ACK retransmits
  workload.py block DIR           direct (O_DIRECT) writes of known size under DIR, fsync'd

Each renames itself (prctl PR_SET_NAME, "tf-MODE") first, so probes can pick its events by
comm, and writes what the test cannot know in advance (fds, addresses, pids) to DIR/facts-MODE.json.
"""
import ctypes
import json
import mmap
import os
import select
import socket
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {"nanosleep": 35, "select": 23, "accept": 43, "futex": 202, "clock_nanosleep": 230, "pselect6": 270, "ppoll": 271, "epoll_pwait": 281}


class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]


def syscall(name, *args):
    return libc.syscall(ctypes.c_long(NR[name]), *[a if not isinstance(a, int) else ctypes.c_long(a) for a in args])


def rename(mode):
    libc.prctl(15, ctypes.c_char_p(f"tf-{mode}".encode()), 0, 0, 0)


def syscalls(d, port):
    facts = {"pid": os.getpid()}
    path = os.path.join(d, "reads")
    with open(path, "wb") as f:
        f.write(b"x" * 100000)
    fd = os.open(path, os.O_RDONLY)
    facts.update(read_path=path, read_fd=fd)
    for _ in range(7):
        os.read(fd, 3333)
    os.pread(fd, 1234, 10)
    os.readv(fd, [bytearray(100), bytearray(200)])
    os.close(fd)
    wfd = os.open(os.path.join(d, "writes"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    facts["write_fd"] = wfd
    for _ in range(5):
        os.write(wfd, b"y" * 2222)
    os.pwrite(wfd, b"p" * 555, 100000)
    os.writev(wfd, [b"a" * 10, b"b" * 20, b"c" * 30])
    os.fsync(wfd)
    os.fdatasync(wfd)
    os.close(wfd)

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    c = socket.socket()
    c.connect(("127.0.0.1", port))
    a, _ = srv.accept()  # accept4(2)
    c2 = socket.socket()
    c2.connect(("127.0.0.1", port))
    a2 = syscall("accept", srv.fileno(), None, None)  # accept(2) itself
    facts.update(listen_fd=srv.fileno(), client_fd=c.fileno(), client2_fd=c2.fileno(), accepted_fd=a.fileno(), accepted2_fd=a2)
    c.send(b"z" * 1111)  # sendto(2)
    a.recv(4096)  # recvfrom(2)
    c.sendmsg([b"m" * 77])
    a.recvmsg(4096)

    word = ctypes.c_int(0)
    facts["futex_addr"] = ctypes.addressof(word)
    syscall("futex", ctypes.c_void_p(ctypes.addressof(word)), 1, 1, None, None, 0)  # FUTEX_WAKE, nobody waits: 0
    syscall("nanosleep", ctypes.byref(Timespec(0, 20_000_000)), None)
    syscall("clock_nanosleep", 1, 0, ctypes.byref(Timespec(0, 30_000_000)), None)  # CLOCK_MONOTONIC, relative
    p = select.poll()
    p.register(a, select.POLLIN)
    p.poll(15)
    syscall("ppoll", None, 0, ctypes.byref(Timespec(0, 5_000_000)), None, 8)
    ep = select.epoll()
    facts["epfd"] = ep.fileno()
    ep.poll(0.01, 5)  # epoll_wait(epfd, ..., 5, 10)
    events = ctypes.create_string_buffer(12 * 3)
    syscall("epoll_pwait", ep.fileno(), events, 3, 7, None, 8)
    syscall("select", 0, None, None, None, ctypes.byref(Timeval(0, 5000)))
    syscall("pselect6", 0, None, None, None, ctypes.byref(Timespec(0, 5_000_000)), None)
    for s in (c, c2, a, srv):
        s.close()
    os.close(a2)
    write_facts(d, "syscalls", facts)
    try:
        os.execv("/nonexistent/tapfleet-exec", ["tapfleet-exec"])
    except FileNotFoundError:
        pass


def sched(d):
    facts = {"pid": os.getpid()}
    for _ in range(5):
        time.sleep(0.05)
    child = os.fork()
    if child == 0:
        time.sleep(0.03)
        os._exit(0)
    os.waitpid(child, 0)
    facts["child"] = child
    write_facts(d, "sched", facts)
    os.execv("/bin/true", ["true"])


def tcp(d, port):
    facts = {"pid": os.getpid()}
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    c = socket.socket()
    c.connect(("127.0.0.1", port))
    a, peer = srv.accept()
    facts["client_port"] = peer[1]
    # An abortive close (SO_LINGER 0) sends a RST, which the peer receives.
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    a.close()
    time.sleep(0.05)
    c.close()
    # Nobody listens on port + 1: the kernel answers the SYN with a RST.
    r = socket.socket()
    try:
        r.connect(("127.0.0.1", port + 1))
    except ConnectionRefusedError:
        pass
    r.close()
    # A listener whose accept queue is full drops SYNs: the third client retransmits its SYN (initial RTO 1 s).
    full = socket.socket()
    full.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    full.bind(("127.0.0.1", port + 2))
    full.listen(0)
    waiting = []
    for _ in range(3):
        w = socket.socket()
        w.setblocking(False)
        try:
            w.connect(("127.0.0.1", port + 2))
        except BlockingIOError:
            pass
        waiting.append(w)
    # A listener deferring accept until data arrives drops the client's bare ACK and, after its
    # 1 s, retransmits the SYN-ACK.
    defer = socket.socket()
    defer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    defer.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
    defer.bind(("127.0.0.1", port + 3))
    defer.listen(8)
    quiet = socket.socket()
    quiet.connect(("127.0.0.1", port + 3))
    time.sleep(2.5)
    quiet.close()
    defer.close()
    for w in waiting:
        w.close()
    full.close()
    srv.close()
    write_facts(d, "tcp", facts)


def block(d):
    facts = {"pid": os.getpid()}
    path = os.path.join(d, "direct")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o640)
    buf = mmap.mmap(-1, 65536)  # page-aligned, as O_DIRECT needs
    buf.write(b"b" * 65536)
    for i in range(4):
        os.pwrite(fd, buf, i * 65536)
    os.fsync(fd)
    os.close(fd)
    st = os.stat(path)
    facts.update(dev_major=os.major(st.st_dev), dev_minor=os.minor(st.st_dev))
    write_facts(d, "block", facts)


def write_facts(d, mode, facts):
    with open(os.path.join(d, f"facts-{mode}.json"), "w") as f:
        json.dump(facts, f)


if __name__ == "__main__":
    mode, d = sys.argv[1], sys.argv[2]
    rename(mode)
    {"syscalls": lambda: syscalls(d, int(sys.argv[3])), "sched": lambda: sched(d), "tcp": lambda: tcp(d, int(sys.argv[3])), "block": lambda: block(d)}[mode]()
