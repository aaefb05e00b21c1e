"""
Delays one direction of a link where the kernel has no netem: bridges two interfaces frame by
frame (AF_PACKET), holding every frame that arrives on the first for a delay before it leaves
by the second; frames the other way pass at once.

    python3 link-delay.py <delayed-in> <other> <delay ms>

Prints "ready" once both sockets are bound; "delay <ms>" on stdin changes the delay (frames
already held keep theirs, and nothing is reordered). Exits when stdin closes.
"""
import collections
import socket
import sys
import threading
import time

ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4


def open_raw(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # Each frame carries a virtio-net header, so a checksum the sender left to offload (veth
    # does) is still completed by the kernel when the frame is sent on.
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ifname, 0))
    return s


delayed_in = open_raw(sys.argv[1])
other = open_raw(sys.argv[2])
delay = [float(sys.argv[3]) / 1000]
held = collections.deque()
ready = threading.Condition()


def pass_back():
    while True:
        frame, address = other.recvfrom(70000)
        if address[2] != PACKET_OUTGOING:
            delayed_in.send(frame)


def hold():
    while True:
        frame, address = delayed_in.recvfrom(70000)
        if address[2] == PACKET_OUTGOING:
            continue
        with ready:
            held.append((time.monotonic() + delay[0], frame))
            ready.notify()


def release():
    while True:
        with ready:
            while not held:
                ready.wait()
            due, frame = held[0]
            wait = due - time.monotonic()
            if wait > 0:
                ready.wait(wait)
                continue
            held.popleft()
        other.send(frame)


for target in (pass_back, hold, release):
    threading.Thread(target=target, daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    if len(words) == 2 and words[0] == "delay":
        delay[0] = float(words[1]) / 1000
        print("delay", words[1], flush=True)
