"""The grader's end of a kernel's channels, capped: what a kernel sends cannot take the grader's memory.

A kernel talks to the grader over ZeroMQ sockets, and a student's code can use them as it likes:
ipykernel sends a whole flushed ``print`` buffer as one message, and code that takes the kernel's
own iopub socket can send anything at all, without ever calling ``print``. So the limit is kept
on the grader's side, where the kernel cannot reach:

* every socket refuses a message part larger than the output limit (``ZMQ_MAXMSGSIZE``): libzmq
  drops the connection instead of allocating it, and the disconnection is seen by a socket
  monitor (:meth:`CappedKernelClient.connection_dropped`);
* every message received is counted, before it is decoded, against the output limit of the
  whole notebook (:class:`OutputMeter`); past it, and for anything that does not decode as a
  Jupyter message, nothing more is decoded or kept;
* a message of many parts can still be large (libzmq has no limit on their number): the
  grader's own memory is watched too (:mod:`.watch`).

Past the limit the kernel is stopped (:mod:`.watch`); what arrived before is kept.
"""

from __future__ import annotations

import contextlib
import os
import signal

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Instance, Integer, TraitError, Type, Unicode, default, validate

from ..sandbox.cgroups import parse_size


class OutputMeter:
    """Bytes a kernel sent over its channels, against its output limit (``0``: none)."""

    def __init__(self, limit: int = 0):
        self.limit, self.received = int(limit), 0
        self.over = False  # the limit was passed: nothing more is decoded
        self.malformed: str | None = None  # what did not decode, when something did not

    def take(self, size: int) -> bool:
        """Count ``size`` bytes; whether the message may still be decoded."""
        self.received += size
        if self.limit and self.received > self.limit:
            self.over = True
        return not self.over and self.malformed is None


def ignored() -> dict:
    """A message that answers no request: what nbclient gets instead of one that was not decoded."""
    header = {"msg_id": "", "msg_type": "coursegrader_dropped", "session": "", "username": "", "version": "5.3"}
    return {
        "header": header,
        "msg_id": "",
        "msg_type": header["msg_type"],
        "parent_header": {},
        "metadata": {},
        "content": {},
        "buffers": [],
    }


class CappedChannel(AsyncZMQSocketChannel):
    """A channel that counts each message against the meter before decoding it."""

    meter: OutputMeter | None = None

    async def _recv(self, **kwargs) -> dict:
        frames = await self.socket.recv_multipart(**kwargs)
        meter = self.meter
        if meter is not None and not meter.take(sum(len(f) for f in frames)):
            return ignored()
        try:
            _, message = self.session.feed_identities(frames)
            return self.session.deserialize(message)
        except Exception as err:  # a forged or broken message (bad signature, JSON nested past
            # Python's recursion limit...) would otherwise stop the grader, not the kernel
            if meter is None:
                raise
            meter.malformed = f"{type(err).__name__}: {str(err)[:200]}"
            return ignored()


def _metered(name: str) -> property:
    """One of the client's channel properties, handing the channel the client's meter."""
    base = getattr(AsyncKernelClient, name)

    def get(self):
        channel = base.fget(self)
        channel.meter = self.meter
        return channel

    return property(get)


class CappedKernelClient(AsyncKernelClient):
    """An async kernel client whose sockets refuse large messages and whose channels are metered."""

    max_message = Integer(
        0,
        help="bytes: the largest message part any socket accepts, and the output limit of the whole notebook (0: none)",
    ).tag(config=True)
    meter = Instance(OutputMeter)

    shell_channel_class = Type(CappedChannel)
    iopub_channel_class = Type(CappedChannel)
    stdin_channel_class = Type(CappedChannel)
    control_channel_class = Type(CappedChannel)
    shell_channel = _metered("shell_channel")
    iopub_channel = _metered("iopub_channel")
    stdin_channel = _metered("stdin_channel")
    control_channel = _metered("control_channel")

    @default("meter")
    def _meter_default(self) -> OutputMeter:
        return OutputMeter(self.max_message)

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        if self.max_message:  # a default of every socket the context makes, set before they connect
            context.setsockopt(zmq.MAXMSGSIZE, self.max_message)
        return context

    _monitor_addresses: list[str] | None = None
    _monitor_readers: list | None = None

    def _create_connected_socket(self, channel: str, identity: bytes | None = None):
        sock = super()._create_connected_socket(channel, identity)
        if self.max_message:
            address = f"inproc://coursegrader-monitor-{id(self)}-{channel}"
            sock.monitor(address, zmq.EVENT_DISCONNECTED)
            self._monitor_addresses = [*(self._monitor_addresses or []), address]
        return sock

    def connection_dropped(self) -> bool:
        """Whether a channel lost its connection since the last call: libzmq refused a message part
        larger than ``max_message``, or the kernel is gone. Call it from one thread only."""
        readers = self._monitor_readers = self._monitor_readers or []
        for address in (self._monitor_addresses or [])[len(readers) :]:
            reader = self.context.socket(zmq.PAIR)  # the client's context: closed with it, inproc reaches
            reader.linger = 0
            reader.connect(address)
            readers.append((reader, zmq.Socket.shadow(reader.underlying)))  # read without an event loop
        dropped = False
        for _, reader in readers:
            while reader.poll(0):
                reader.recv_multipart()
                dropped = True
        return dropped


def size_setting(proposal, owner: str) -> str:
    """A size setting of a kernel manager (``''``: none, or e.g. ``'8M'``), stripped; a
    configuration error naming ``owner`` and the setting when it is not a size."""
    value = proposal["value"].strip()
    if value:
        try:
            parse_size(value)
        except ValueError as err:
            raise TraitError(f"{owner}.{proposal['trait'].name}: {err}") from None
    return value


class CappedKernelManager(AsyncKernelManager):
    """An async kernel manager whose clients are :class:`CappedKernelClient` (the sandboxed manager
    is one; the grader uses this one when it grades without the sandbox)."""

    output_limit = Unicode(
        "",
        config=True,
        help="Output the kernel may send the grader over its channels, per notebook, e.g. '8M'; "
        "'' for none. Also the largest message part any of the grader's sockets accepts.",
    )

    @validate("output_limit")
    def _check_output_limit(self, proposal) -> str:
        return size_setting(proposal, type(self).__name__)

    def is_running(self) -> bool:
        process = getattr(self.provisioner, "process", None)  # LocalProvisioner's Popen
        return process is not None and process.poll() is None

    def kill_now(self) -> None:
        """Stop the kernel at once, with what it started (its process group: jupyter_client starts
        each kernel in a session of its own)."""
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            with contextlib.suppress(OSError):
                process.kill()

    def client(self, **kwargs) -> AsyncKernelClient:
        if not self.output_limit:
            return super().client(**kwargs)
        self.client_factory = CappedKernelClient
        return super().client(max_message=parse_size(self.output_limit), **kwargs)
