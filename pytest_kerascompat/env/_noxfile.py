"""The noxfile ``pytest --keras-matrix`` drives: the sessions of an already planned sweep."""

from __future__ import annotations

import os

from pytest_kerascompat.env.environments import PLAN_FILE_VARIABLE
from pytest_kerascompat.env.nox_sessions import register_planned_sessions

register_planned_sessions(os.environ[PLAN_FILE_VARIABLE])
