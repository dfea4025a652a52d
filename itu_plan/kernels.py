"""A Jupyter kernel manager whose kernels die with the process that starts them
(see :mod:`itu_plan.lifeline`): ``render`` runs its notebooks with it.

Importing this module imports ``jupyter_client``: import it where kernels are started.
"""

from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager

from itu_plan import lifeline


class LifelineKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that starts each kernel through :func:`lifeline.command`."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return lifeline.command(super().format_kernel_cmd(extra_arguments))
