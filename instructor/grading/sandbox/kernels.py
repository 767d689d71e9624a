"""Sandboxed kernels for nbclient: a kernelspec whose kernel the launcher starts, and a kernel
manager that forks that launcher from the zygote when there is one."""

import os
import uuid
from typing import Any as AnyValue

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any

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


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels come from the zygote when there is one."""

    zygote = Any(None)

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
