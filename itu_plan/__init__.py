"""itu-plan: a collaborative, notebook-based planning workspace for an
intergovernmental secretariat (operational plans, financial plans, budgets,
cost recovery, early warnings, human resources, the depositary register)."""

from itu_plan.errors import (
    ConflictError,
    ItuPlanError,
    NotFound,
    PermissionDenied,
    Problem,
    ReadOnlyWorkspace,
    UsageError,
    ValidationError,
)
from itu_plan.workspace import Workspace

__all__ = [
    "ConflictError",
    "ItuPlanError",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "ReadOnlyWorkspace",
    "UsageError",
    "ValidationError",
    "Workspace",
]
__version__ = "0.1.0"
