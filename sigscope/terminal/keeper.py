"""The keeper: the parent of the terminal lane's shell, and the one that ends its whole session.

Runs as ``python -I -S keeper.py CONFIG_JSON`` (standard library only: it starts fast and
imports nothing from the folder it runs in). sigscope starts it; it

1. makes itself a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER): every process of the
   lane's session that is orphaned — a ``nohup``ed or ``disown``ed job whose shell hung up, a
   double-forked daemon — is re-parented to the keeper, not to init, so it stays findable;
2. forks the shell as a session leader (setsid(2)) whose controlling terminal is the pty's
   slave (ioctl TIOCSCTTY, tty_ioctl(4)); the shell waits for a byte before exec-ing, so that
   strace can attach to it first and follow every job it will fork (``-f``);
3. starts strace on the shell (if asked), its stderr on a pipe sigscope reads;
4. reaps its children, reporting each status as a JSON line on the report pipe;
5. when the control pipe reaches end of file — sigscope closed it, or sigscope died, SIGKILL
   included, since the kernel closes a dead process's descriptors — SIGKILLs every
   descendant (found in /proc/PID/task/TID/children, each through a pidfd checked against the
   parent it was found under), reaps them all, and exits.

Nothing here runs between fork and exec in a threaded process: the keeper is single-threaded.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import select
import signal
import sys
import termios
import time

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PTRACER = 0x59616D61  # include/uapi/linux/prctl.h: "Yama"
GO_TIMEOUT = 5.0  # s the shell waits for strace to attach before it runs anyway


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(b")") + 2 :].split()[1])


def _tracer(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Keeper:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.report_fd: int = config["report_fd"]
        self.control_fd: int = config["control_fd"]
        self.shell_pid = 0
        self.strace_pid = 0

    def report(self, **fields: object) -> None:
        try:
            os.write(self.report_fd, (json.dumps(fields) + "\n").encode())
        except OSError:
            pass  # sigscope is gone: the control pipe's EOF will end us

    # -- starting ---------------------------------------------------------------------------
    def start_shell(self) -> int:
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the shell-to-be
            try:
                os.close(go_w)
                os.setsid()
                slave = self.config["slave_fd"]
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                os.set_inheritable(go_r, True)
                # Python ignores SIGPIPE and SIGXFSZ at start-up and exec keeps SIG_IGN: the
                # shell must start with every signal at its default, and nothing blocked.
                for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                # Yama (ptrace_scope 1, Ubuntu's default) lets a process trace only its own
                # descendants; strace is the keeper's child, not ours: name the keeper as our
                # ptracer (its descendants may then attach). EINVAL without Yama: ignored.
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(PR_SET_PTRACER, ctypes.c_ulong(os.getppid()), 0, 0, 0)
                select.select([go_r], [], [], GO_TIMEOUT)
                os.closerange(3, 65536)
                try:
                    os.chdir(self.config.get("cwd") or "/")
                except OSError:
                    os.chdir("/")  # a HOME that does not exist (nobody's): start in /
                os.execve(self.config["shell"], self.config["argv"], self.config["env"])
            except BaseException as e:  # noqa: BLE001 - the child must never return
                try:
                    os.write(2, f"sigscope: cannot start the shell: {e}\r\n".encode())
                finally:
                    os._exit(127)
        os.close(go_r)
        self.shell_pid = pid
        self.report(shell=pid)
        strace = self.config.get("strace")
        if strace:
            self.start_strace(strace, pid)
        os.write(go_w, b"g")
        os.close(go_w)
        return pid

    def start_strace(self, exe: str, target: int) -> None:
        args = ["strace", "-f", "-e", "trace=none", "-e", "signal=all", "-p", str(target)]
        err = self.config["strace_fd"]
        pid = os.fork()
        if pid == 0:
            try:
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                os.dup2(err, 2)
                os.closerange(3, 65536)
                for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                os.execv(exe, args)
            finally:
                os._exit(127)
        self.strace_pid = pid
        self.report(strace=pid)
        # Let the shell run only once strace has seized it (or strace gave up): otherwise the
        # first jobs could be forked before strace follows forks.
        deadline = time.monotonic() + GO_TIMEOUT
        while time.monotonic() < deadline and _tracer(target) != pid:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                self.strace_pid = 0
                break
            time.sleep(0.005)

    # -- running ----------------------------------------------------------------------------
    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            what = None
            if pid == self.shell_pid:
                what = "shell"
            elif pid == self.strace_pid:
                what = "strace"
            self.report(reaped=pid, status=status, what=what)
            if pid == self.strace_pid:
                self.strace_pid = 0

    def run(self) -> None:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # Ours is not the lane's terminal; still, a stray HUP/INT/TERM must not skip the clean-up.
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            signal.signal(sig, lambda *_: None)
        self.start_shell()
        os.close(self.config["slave_fd"])
        poller = select.poll()
        poller.register(self.control_fd, select.POLLIN)
        poller.register(wake_r, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == wake_r:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif fd == self.control_fd:
                    data = os.read(self.control_fd, 4096)
                    if not data:
                        self.end_all()
                        return
            self.reap()

    # -- ending -----------------------------------------------------------------------------
    def kill_descendants(self) -> int:
        """SIGKILL every descendant but strace (last: a tracer's death would let its tracees
        run on); return how many were signalled."""
        me = os.getpid()
        count = 0
        todo = [(me, child) for child in _children(me)]
        while todo:
            parent, pid = todo.pop()
            todo.extend((pid, c) for c in _children(pid))
            if pid == self.strace_pid:
                continue
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                # The pidfd pins one process; it is the one we found only if it still has the
                # parent we found it under (a reused pid would not).
                if _ppid(pid) == parent:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    count += 1
            except OSError:
                pass
            finally:
                os.close(fd)
        return count

    def end_all(self) -> None:
        deadline = time.monotonic() + 5.0
        killed = 0
        while time.monotonic() < deadline:
            killed += self.kill_descendants()
            self.reap()
            left = [p for p in _children(os.getpid()) if p != self.strace_pid]
            if not left:
                break
            time.sleep(0.005)
        if self.strace_pid:
            try:
                os.kill(self.strace_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.report(reaped=pid, status=status, what=None)
        self.report(cleaned=killed)


def main() -> None:
    config = json.loads(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1), 0, 0, 0)
    Keeper(config).run()


if __name__ == "__main__":
    main()
