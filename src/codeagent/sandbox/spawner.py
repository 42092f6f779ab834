"""A small process that lives inside one command cgroup and starts that group's commands.

Why: moving a process into a cgroup (writing to `cgroup.procs`) waits for an RCU
grace period, which after a busy command takes 10-20 ms, more than all of bwrap's
namespaces and mounts together. A child forked by a process that is already inside
the group is born there at no cost. So each pooled `CommandGroup` starts one spawner,
which joins the group once, and every later command of the group is forked by it.

The spawner runs as `python -I -S spawner.py FD FILE_SIZE PROCS...` and imports only
the standard library; it sets RLIMIT_FSIZE (and RLIMIT_CORE to 0) on itself, so every
command inherits them. Frames over the socket FD are a 4-byte length and a JSON object:

    agent -> spawner  {"argv", "env", "cwd", "open"} + the output pipe's write end;
                      "open": [[fd, path], ...] files opened read-only at those fds in
                      the command (bwrap's --seccomp program, fresh for each command)
    spawner -> agent  {"pid": n}, then {"status": code} when it exits (-N: signal N)
    agent -> spawner  {"reap": true} once the agent has killed what the command left

The exited child stays a zombie until "reap", so its pid (and process group) cannot be
reused while the agent may still signal it. EOF on the socket (the agent exited or was
killed) makes the spawner kill everything in its group and exit.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys

MAX_FRAME = 64 << 20


def send_frame(sock: socket.socket, message: dict, fds: list[int] = ()) -> None:
    body = json.dumps(message).encode()
    data = len(body).to_bytes(4, "big") + body
    sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])


def recv_frame(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """(message, fds received with it); (None, fds) at EOF."""
    head, fds = b"", []
    while len(head) < 4:
        data, new_fds, _, _ = socket.recv_fds(sock, 4 - len(head), 4)
        fds += new_fds
        if not data:
            return None, fds
        head += data
    size = int.from_bytes(head, "big")
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    body = bytearray()
    while len(body) < size:
        chunk = sock.recv(min(size - len(body), 1 << 20))
        if not chunk:
            return None, fds
        body += chunk
    return json.loads(body), fds


class Spawned:
    """A command started by a spawner, shaped like the `subprocess.Popen` that
    `execute` expects: pid (also its process group), stdout, poll(), wait(), exit_fd()."""

    def __init__(self, spawner: "Spawner", pid: int, stdout):
        self.spawner, self.pid, self.stdout = spawner, pid, stdout
        self.returncode: int | None = None

    def exit_fd(self) -> int:
        """Readable once the exit status has arrived (the caller closes it)."""
        return os.dup(self.spawner.sock.fileno())

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self.spawner.sock], [], [], 0)[0]:
            self._read_status()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self._read_status()
        return self.returncode

    def _read_status(self) -> None:
        try:
            message, _ = recv_frame(self.spawner.sock)
        except (OSError, ValueError):
            message = None
        if message is None:  # the spawner died (OOM-killed, say); bwrap died with it
            self.spawner.dead = True
            self.returncode = -signal.SIGKILL
            return
        self.returncode = int(message["status"])
        try:
            send_frame(self.spawner.sock, {"reap": True})
        except OSError:
            self.spawner.dead = True


class Spawner:
    """The agent's end: starts the spawner process, which joins `procs_files`."""

    def __init__(self, procs_files: list[str], *, file_size: int):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, str(theirs.fileno()), str(file_size), *procs_files],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        theirs.close()
        self.pid = self.proc.pid
        self.dead = False

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def start(self, argv: list[str], cwd: str, env: dict[str, str], opens: list[tuple[int, str]] = ()) -> Spawned:
        """Start `argv` inside the group, its stdout and stderr on a new pipe."""
        read_end, write_end = os.pipe()
        try:
            send_frame(self.sock, {"argv": list(argv), "cwd": cwd, "env": env, "open": [list(o) for o in opens]},
                       [write_end])
            reply, _ = recv_frame(self.sock)
        except (OSError, ValueError):
            reply = None
        finally:
            os.close(write_end)
        if reply is None or "pid" not in reply:
            os.close(read_end)
            self.dead = reply is None
            raise OSError((reply or {}).get("error", "the sandbox spawner exited"))
        return Spawned(self, int(reply["pid"]), os.fdopen(read_end, "rb", buffering=0))

    def close(self) -> None:
        self.dead = True
        self.sock.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- the spawner process ----------------------------------------------------------


def _spawn(request: dict, out: int) -> int:
    """Start the command in its own session, stdin closed, output to `out` (posix_spawn:
    a vfork, about half the cost of fork+exec in Python), signals back to default."""
    os.chdir(request["cwd"])
    return os.posix_spawn(
        request["argv"][0], request["argv"], request["env"], setsid=True,
        setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # Python ignores these; commands expect the default
        file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, out, 1),
                      (os.POSIX_SPAWN_DUP2, out, 2), (os.POSIX_SPAWN_CLOSE, out),
                      *[(os.POSIX_SPAWN_OPEN, int(fd), path, os.O_RDONLY, 0) for fd, path in request.get("open", ())]],
    )


def _kill_group(procs_files: list[str]) -> None:
    for path in procs_files:
        try:
            with open(path) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            continue
        for pid in pids:
            if pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def _wait_exit(sock: socket.socket, pid: int) -> int | None:
    """The child's status once it exits, left unreaped; None if the agent went away."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready = select.select([pidfd, sock], [], [])[0]
            if sock in ready:
                return None  # the agent sends nothing while a command runs: EOF or misuse
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            if info is not None:
                return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
    finally:
        os.close(pidfd)


def serve(sock: socket.socket, file_size: int, procs_files: list[str]) -> None:
    for path in procs_files:  # join the group: the one cgroup move this spawner pays
        with open(path, "w") as f:
            f.write("0")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # inherited by every command
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    zombie = None
    try:
        while True:
            request, fds = recv_frame(sock)
            if zombie is not None:
                os.waitpid(zombie, 0)
                zombie = None
            if request is None:
                return
            if request.get("reap") or not fds:
                continue
            try:
                pid = _spawn(request, fds[0])
            except OSError as exc:
                send_frame(sock, {"error": f"cannot start {request['argv'][0]}: {exc}"})
                continue
            finally:
                for fd in fds:
                    os.close(fd)
            send_frame(sock, {"pid": pid})
            status = _wait_exit(sock, pid)
            zombie = pid
            if status is None:  # the agent is gone: so is its command
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                return
            send_frame(sock, {"status": status})
    finally:
        _kill_group(procs_files)


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    sock.set_inheritable(False)
    try:
        serve(sock, int(argv[1]), argv[2:])
    except (OSError, ValueError) as exc:
        try:
            send_frame(sock, {"error": f"sandbox spawner: {exc}"})
        except OSError:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
