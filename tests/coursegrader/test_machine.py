"""The grading machine's resources (coursegrader.machine): the memory each kernel may have."""

import pytest

from coursegrader import machine
from coursegrader.sandbox import cgroups


def test_default_memory_limit_shares_what_the_grader_leaves():
    G = 2**30
    assert machine.default_memory_limit(1, total_bytes=24 * G) == "22G"
    assert machine.default_memory_limit(2, total_bytes=24 * G) == "11G"
    assert machine.default_memory_limit(4, total_bytes=16 * G) == "3584M"  # 14 GiB / 4
    assert cgroups.parse_size(machine.default_memory_limit(3, total_bytes=24 * G)) <= 22 * G // 3
    assert machine.default_memory_limit(8, total_bytes=4 * G) == "1G"  # never below 1 GiB
    assert machine.default_memory_limit(1, total_bytes=G) == "1G"
    with pytest.raises(ValueError, match="at least 1"):
        machine.default_memory_limit(0, total_bytes=24 * G)
    real = cgroups.parse_size(machine.default_memory_limit(1))  # reads this machine
    assert 2**30 <= real <= max(machine.total_memory(), 2**30)
