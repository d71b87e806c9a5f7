"""What a check is made of (shared by the labs' check modules and the grader's hidden checks)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class CheckFailed(AssertionError):
    """A check's verdict: what is wrong, in words a student can act on."""


@dataclass(frozen=True)
class Check:
    """One graded check of a lab.

    * ``request(rng, settings)``: the probe's inputs as plain data, with the probe's name
      under ``"probe"``. ``rng`` is None in student mode (the check's own fixed inputs) and
      a fresh ``numpy.random.Generator`` when the grader draws them; ``settings`` are the
      lab's profile settings.
    * ``verdict(request, evidence, truth)``: returns a message when the check passes and
      raises :class:`CheckFailed` when it fails. It may only trust ``request`` and ``truth``.
    * ``truth(request, data_dir)``: what the verdict scores against and the kernel must not
      see while grading (labels, reference translations); None when there is nothing.
    """

    grade_id: str
    labs: tuple[str, ...]
    request: Callable[[Any, Mapping], dict]
    verdict: Callable[[dict, dict, dict], str]
    truth: Callable[[dict, Any], dict] | None = None


ANSI = re.compile(r"\x1b\[[0-9;]*m")
KERAS_WRAPPER = "Exception encountered when calling"
KERAS_ARGUMENTS = "Arguments received by"
# TensorFlow names its kernels and graph nodes in an error's text ("{{function_node __wrapped__...}}
# Matrix size-incompatible: ... [Op:BatchMatMulV2] name: ", "... for '{{node model/layer/MatMul}} =
# BatchMatMulV2[T=DT_FLOAT, ...](inputs)' with input shapes: ..."): only the reason and the op say
# what a student did wrong.
TF_FUNCTION_NODE = re.compile(r"^\{\{function_node [^}]*\}\}\s*")
TF_GRAPH_NODE = re.compile(r"for '\{\{node [^}]*\}\} = (\w+).*?' with")
TF_EMPTY_NAME = re.compile(r"\s+name:\s*$")


def raised(error: BaseException) -> dict:
    """How evidence records an exception raised by the notebook's code: its type and :func:`reason`."""
    return {"type": type(error).__name__, "message": reason(str(error))}


def reason(message: str) -> str:
    """The line of an error's message that says most (a traced function's error starts with "in user
    code:", then the frames, then the reason; Keras wraps an error of a layer's call() in "Exception
    encountered when calling ...", then the reason, then the arguments, and only the reason tells a
    student what to change)."""
    lines = [ANSI.sub("", line).strip() for line in message.strip().splitlines()]
    lines = [line for line in lines if line]
    wrapper = max((i for i, line in enumerate(lines) if KERAS_WRAPPER in line), default=None)
    if wrapper is not None and wrapper + 1 < len(lines):
        end = next((i for i in range(wrapper + 1, len(lines)) if lines[i].startswith(KERAS_ARGUMENTS)), len(lines))
        lines = lines[wrapper + 1 : end] or lines[wrapper : wrapper + 1]
    useful = [line for line in lines if line != "in user code:" and not line.startswith("File ")]
    line = useful[0] if useful and lines and lines[0] != "in user code:" else (useful[-1] if useful else "")
    line = TF_EMPTY_NAME.sub("", TF_FUNCTION_NODE.sub("", TF_GRAPH_NODE.sub(r"in \1 with", line)))
    return line[:300]


def attempt(function: Callable, *args: Any, **kwargs: Any) -> tuple[Any, dict | None]:
    """``(function(*args, **kwargs), None)``, or ``(None, raised(error))`` if it raised."""
    try:
        return function(*args, **kwargs), None
    except Exception as error:  # noqa: BLE001 - any error of the notebook's code is evidence
        return None, raised(error)
