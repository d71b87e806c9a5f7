"""The bubblewrap command line around a kernel (coursegrader.sandbox.bwrap): isolation, mounts,
GPUs passed through, the kernel's environment."""

import os
import sys

from coursegrader.sandbox import bwrap
from tests.support.sandbox_kernels import SECRET


def test_gpu_device_paths_lists_every_nvidia_node(tmp_path):
    for name in ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "null", "sda"]:
        (tmp_path / name).touch()
    (tmp_path / "nvidia-caps").mkdir()
    (tmp_path / "nvidia-caps" / "nvidia-cap1").touch()
    (tmp_path / "nvidia-caps" / "nvidia-cap2").touch()
    got = bwrap.gpu_device_paths(str(tmp_path))
    assert got == sorted(
        str(tmp_path / n)
        for n in [
            "nvidia0",
            "nvidia1",
            "nvidiactl",
            "nvidia-uvm",
            "nvidia-uvm-tools",
            "nvidia-modeset",
            "nvidia-caps/nvidia-cap1",
            "nvidia-caps/nvidia-cap2",
        ]
    )
    assert bwrap.gpu_device_paths(str(tmp_path / "nvidia-caps" / "none")) == []


def test_bwrap_argv_isolates_and_passes_gpus_through():
    argv = bwrap.bwrap_argv(
        ["python", "-m", "ipykernel_launcher"],
        cwd="/tmp/work/alice",
        runtime_dir="/tmp/rt",
        readonly=["/opt/env"],
        devices=["/dev/nvidia0", "/dev/nvidiactl"],
        env={"HOME": "/tmp"},
    )
    for flag in ["--unshare-all", "--unshare-net", "--die-with-parent", "--clearenv", "--new-session"]:
        assert flag in argv
    joined = " ".join(argv)
    assert "--dev-bind /dev/nvidia0 /dev/nvidia0" in joined
    assert "--dev-bind /dev/nvidiactl /dev/nvidiactl" in joined
    assert "--ro-bind-try /opt/env /opt/env" in joined
    assert "--bind /tmp/work/alice /tmp/work/alice" in joined
    assert "--bind /tmp/rt /tmp/rt" in joined
    assert "--setenv HOME /tmp" in joined
    assert "/" not in argv and "/etc" not in argv and "/root" not in argv  # never wholesale
    assert argv[-4:] == ["--", "python", "-m", "ipykernel_launcher"]
    # Parents are mounted before what lies inside them: the private /tmp first, then
    # the folders bound into it; /dev before the GPU nodes.
    assert joined.index("--tmpfs /tmp") < joined.index("--bind /tmp/work/alice")
    assert joined.index("--tmpfs /tmp") < joined.index("--bind /tmp/rt")
    assert joined.index("--dev /dev") < joined.index("--dev-bind /dev/nvidia0")


def test_bwrap_argv_recreates_merged_usr_symlinks():
    argv = " ".join(bwrap.bwrap_argv(["true"], cwd="/w", runtime_dir="/r", readonly=[], devices=[], env={}))
    for top in ["/bin", "/lib"]:
        if os.path.islink(top):
            assert f"--symlink {os.readlink(top)} {top}" in argv
        elif os.path.isdir(top):
            assert f"--ro-bind-try {top} {top}" in argv


def test_sandbox_env_keeps_only_the_whitelist():
    env = bwrap.sandbox_env(
        {"COURSE_PROFILE": "cpu", SECRET: "x", "JPY_PARENT_PID": "1", "PATH": "/evil"},
        keep=["COURSE_PROFILE", "JPY_PARENT_PID"],
    )
    assert env["COURSE_PROFILE"] == "cpu" and env["HOME"] == "/tmp"
    assert SECRET not in env and "JPY_PARENT_PID" not in env
    assert env["PATH"].split(os.pathsep)[0] == os.path.join(sys.prefix, "bin")
