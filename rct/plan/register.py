"""Registering the analysis plan (``plan.json``) and checking later runs against it.

``rct plan trial.toml`` writes ``plan.json`` (the plan's canonical JSON, so
``sha256sum plan.json`` is the plan's SHA-256).  Publish that hash before the
trial starts.  ``rct evaluate`` and the reports re-resolve the plan from the
trial file and the files it names, and say in one line whether it is the
registered one — and if not, which keys differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rct.errors import ConfigError

__all__ = ["register_plan", "registered_plan", "check_registration", "Registration"]


def register_plan(trial: Any, *, out: str | Path | None = None, force: bool = False) -> tuple[Any, Path]:
    """Write the trial's plan as ``plan.json`` (default ``[files] plan``); returns (plan, path).

    Refuses to replace a different registered plan unless ``force`` (re-writing
    the same plan is a no-op).
    """
    from rct.config import Trial, load_trial
    from rct.io.atomic import write_text
    from rct.plan.plan import plan_from_trial

    t = trial if isinstance(trial, Trial) else load_trial(trial)
    plan = plan_from_trial(t)
    path = Path(out) if out is not None else Path(t.files.plan)
    if path.exists() and not force:
        if path.read_text(encoding="utf-8") == plan.to_json():
            return plan, path
        raise ConfigError([f"{path.name} already holds a different registered plan; pass "
                           "--force to replace it (a registered plan should not change once "
                           "published)"], file=path)
    write_text(path, plan.to_json())
    return plan, path


def registered_plan(trial: Any) -> dict[str, Any] | None:
    """The registered plan dict (``[files] plan``), or None when none was registered."""
    p = Path(trial.files.plan)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError([f"registered plan {p.name} is not valid JSON: {exc}"], file=p) from None


@dataclass(frozen=True)
class Registration:
    """How the plan being run compares with the registered one."""

    status: str  # "registered" | "differs" | "unregistered"
    plan_sha256: str
    registered_sha256: str | None
    differences: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "plan_sha256": self.plan_sha256,
                "registered_sha256": self.registered_sha256,
                "differences": list(self.differences), "message": self.message}


def check_registration(plan: Any, trial: Any) -> Registration:
    """Compare ``plan`` with the trial's registered ``plan.json`` (one-line message)."""
    import hashlib

    reg = registered_plan(trial)
    p = Path(trial.files.plan)
    if reg is None:
        return Registration("unregistered", plan.sha256, None, (),
                            f"no registered plan ({p.name} not found): register it before the "
                            f"trial with `rct plan {Path(trial.path).name}` and publish its "
                            f"SHA-256; this plan's SHA-256 is {plan.sha256}")
    reg_sha = hashlib.sha256(p.read_bytes()).hexdigest()
    if reg_sha == plan.sha256:
        return Registration("registered", plan.sha256, reg_sha, (),
                            f"as registered: plan SHA-256 {plan.sha256} ({p.name})")
    diffs = tuple(plan.differences(reg))
    shown = ", ".join(diffs[:6]) + (f" and {len(diffs) - 6} more" if len(diffs) > 6 else "")
    return Registration("differs", plan.sha256, reg_sha, diffs,
                        f"the plan differs from the registered {p.name} (SHA-256 "
                        f"{reg_sha[:12]}… registered, {plan.sha256[:12]}… now): {shown}")
