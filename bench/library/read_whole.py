"""One keep-alive connection reading a whole file again and again with 1 MiB reads, for
DURATION seconds, as a player or `cp` over HTTP does; prints MB/s (10^6 bytes)."""
import socket, sys, time

host, port, path, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((host, port))
buf = bytearray(1 << 20)
view = memoryview(buf)
total, start = 0, time.monotonic()
while time.monotonic() - start < duration:
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    top, rest = head.split(b"\r\n\r\n", 1)
    length = next(int(l.split(b":")[1]) for l in top.split(b"\r\n") if l.lower().startswith(b"content-length:"))
    left = length - len(rest)
    while left > 0:
        n = s.recv_into(view[: min(left, len(buf))])
        if n == 0:
            sys.exit("connection closed early")
        left -= n
    total += length
print(f"{total / (time.monotonic() - start) / 1e6:.1f}")
