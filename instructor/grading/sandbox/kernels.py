"""Sandboxed kernels for nbclient: a kernelspec whose kernel the launcher starts, a kernel
manager that forks that launcher from the zygote when there is one, and a client that is ready
as soon as the kernel answers."""

import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any as AnyValue

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.utils import ensure_async
from traitlets import Any, DottedObjectName, Type

from . import launch

# The name of the sandboxed kernel in the grader's private kernelspec folder: notebooks ask
# for python3.
KERNEL_NAME = "python3"


def kernel_spec(spec_path: str | os.PathLike[str]) -> dict[str, AnyValue]:
    """A kernelspec (kernel.json content) whose kernel is started by the launcher."""
    return {
        "argv": launch.command(spec_path) + ["{connection_file}"],
        "display_name": "Python 3 (sandboxed)",
        "language": "python",
        "env": launch.environment(),
    }


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching the kernel's launcher from the zygote."""

    zygote = Any()

    async def launch_kernel(self, cmd: list[str], **kwargs: AnyValue) -> KernelConnectionInfo:
        prefix = launch.command_prefix()
        if cmd[: len(prefix)] != prefix:
            return await super().launch_kernel(cmd, **kwargs)
        process = self.zygote.spawn(cmd[len(prefix) :], kwargs.get("cwd") or os.getcwd())
        self.process = process
        self.pid, self.pgid = process.pid, process.pid  # a session of its own
        self.cwd = kwargs.get("cwd")
        return self.connection_info


class SandboxKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready the moment the kernel has answered on both channels.

    jupyter_client's own wait ends by waiting for IOPub to stay silent for 0.2 s, a fifth of
    a second per submission. Nothing here needs that silence: nbclient and the grader read
    only the messages that answer their own requests."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Ask for kernel_info until the kernel answers it and IOPub delivers (a kernel that
        is still starting has not connected IOPub yet); RuntimeError if it dies or takes
        longer than timeout seconds."""
        deadline = monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            asked = self.kernel_info()
            reply = await self._reply_to(asked, min(1.0, max(deadline - monotonic(), 0.01)))
            if reply is not None and await self._iopub_delivers():
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("the kernel died before answering kernel_info")
            if monotonic() > deadline:
                raise RuntimeError(f"the kernel did not answer in {timeout:g} s")

    async def _reply_to(self, msg_id: str, seconds: float) -> dict[str, AnyValue] | None:
        end = monotonic() + seconds
        while (left := end - monotonic()) > 0:
            try:
                msg: dict[str, AnyValue] = await ensure_async(
                    self.shell_channel.get_msg(timeout=left)
                )
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    async def _iopub_delivers(self) -> bool:
        try:
            await ensure_async(self.iopub_channel.get_msg(timeout=0.2))
        except Empty:
            return False
        return True


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels come from the zygote when there is one, with the
    client above on a context the grader's clients share, and that sees its kernel end
    within milliseconds."""

    zygote = Any(None)
    client_context = Any(None)  # the ZeroMQ context of its clients (execute._client_context)
    client_class = DottedObjectName(f"{__name__}.SandboxKernelClient")
    client_factory = Type(SandboxKernelClient, klass=AsyncKernelClient)

    def client(self, **kwargs: AnyValue) -> AsyncKernelClient:  # type: ignore[override]
        """A client on the shared client_context, when one is given (jupyter_client would give
        each client a context of its own: an I/O thread to start and stop per submission,
        and ZeroMQ's reconnection interval of 100 ms)."""
        if self.client_context is not None:
            kwargs.setdefault("context", self.client_context)
        client: AsyncKernelClient = super().client(**kwargs)
        return client

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # jupyter_client checks every 0.1 s whether a stopped kernel is gone: a tenth of a
        # second per submission; its end comes within milliseconds of the signal
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_pre_start_kernel(
        self, **kw: AnyValue
    ) -> tuple[list[str], dict[str, AnyValue]]:
        if self.provisioner is None and self.zygote is not None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ZygoteProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self,
                zygote=self.zygote,
            )  # fmt: skip
        started: tuple[list[str], dict[str, AnyValue]] = await super()._async_pre_start_kernel(**kw)
        return started
