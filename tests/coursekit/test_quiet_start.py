"""A quiet start: importing TensorFlow the labs' way prints none of its start-up lines, and
genuine warnings and errors still show (coursekit.quiet; the grader's `auto` in coursekit.profiles)."""

import os
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

from coursekit import profiles, quiet

# Every start-up line seen on this CPU machine (TensorFlow 2.21), whatever the level settings.
STARTUP = re.compile(
    r"absl::InitializeLog|oneDNN custom operations|cpu_feature_guard|"
    r"To enable the following instructions|cudart_stub|cuInit"
)
CPU_ONLY = not profiles.nvidia_driver_present()
cpu_only = pytest.mark.skipif(not CPU_ONLY, reason="the CUDA start-up lines stay where an NVIDIA driver is")
LABS_WAY = "from coursekit import quiet\nquiet.import_tensorflow()\nimport tensorflow as tf\n"


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=600, check=True
    )


@pytest.mark.integration  # a Python that imports TensorFlow: ~5 s each
@cpu_only
@pytest.mark.parametrize("level", [None, "2"])
def test_importing_tensorflow_the_labs_way_prints_no_startup_line_and_warnings_still_show(level):
    code = LABS_WAY + textwrap.dedent("""
        import sys, warnings
        print(tf.config.list_physical_devices("GPU"))
        sys.stderr.write("after the import\\n")
        warnings.warn("a genuine warning")
        import keras
        keras.layers.Dense(2, input_shape=(3,))  # Keras warns: a UserWarning
    """)
    done = run_python(code, **({"TF_CPP_MIN_LOG_LEVEL": level} if level else {}))
    assert not STARTUP.search(done.stderr), done.stderr
    assert done.stdout.strip() == "[]"
    assert "after the import" in done.stderr
    assert "UserWarning: a genuine warning" in done.stderr
    assert "UserWarning: Do not pass an `input_shape`" in done.stderr


@pytest.mark.integration  # a Python that imports TensorFlow: ~5 s
def test_a_tensorflow_error_after_the_import_still_shows():
    code = LABS_WAY + "tf.debugging.assert_equal(1, 2, message='a genuine error')\n"
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_python(code, TF_CPP_MIN_LOG_LEVEL="2")
    assert "InvalidArgumentError" in failed.value.stderr and "a genuine error" in failed.value.stderr


def test_the_filter_drops_only_startup_lines_and_keeps_the_rest_in_order():
    code = textwrap.dedent(r"""
        import os
        from coursekit import quiet
        with quiet.filtered_stderr(quiet.startup_pattern(gpu_expected=False)):
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                        b"are written to STDERR\n")
            os.write(2, b"I0000 00:00:1.5 7 port.cc:153] oneDNN custom operations are on. ...\n")
            os.write(2, b"E0000 00:00:1.6 7 some_kernel.cc:12] a genuine C++ error\n")
            os.write(2, b"E0000 00:00:1.7 7 cuda_platform.cc:52] failed call to cuInit: INTERNAL: ...\n")
            os.write(2, b"W0000 00:00:1.8 7 other.cc:3] a genuine C++ warning\n")
        os.write(2, b"after the block\n")
    """)
    assert run_python(code).stderr.splitlines() == [
        "E0000 00:00:1.6 7 some_kernel.cc:12] a genuine C++ error",
        "W0000 00:00:1.8 7 other.cc:3] a genuine C++ warning",
        "after the block",
    ]


def test_cuda_lines_stay_visible_where_a_gpu_is_expected():
    pattern = re.compile(quiet.startup_pattern(gpu_expected=True))
    assert not pattern.search("E0000 00:00:1.7 7 cuda_platform.cc:52] failed call to cuInit: INTERNAL: ...")
    assert not pattern.search(
        "I0000 00:00:1.7 7 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used."
    )
    assert pattern.search("I0000 00:00:1.5 7 port.cc:153] oneDNN custom operations are on. You may see")


def test_a_crash_inside_the_filter_still_shows_what_was_written_before_it():
    code = (
        "import os\nfrom coursekit import quiet\n"
        "with quiet.filtered_stderr(quiet.startup_pattern(gpu_expected=False)):\n"
        "    os.write(2, b'F0000 fatal: the reason of the crash\\n')\n"
        "    os.abort()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "the reason of the crash" in done.stderr


@pytest.mark.integration  # a kernel that imports TensorFlow: ~5 s each
@cpu_only
@pytest.mark.parametrize("kernel", ["jupyter", "grader sandbox"])
def test_a_notebook_cell_importing_tensorflow_the_labs_way_has_no_stderr_output(kernel, tmp_path):
    if kernel == "grader sandbox":
        from coursegrader.sandbox import bwrap
        from coursegrader.sandbox.kernel import SandboxedKernelManager

        if bwrap.bwrap_path() is None:
            pytest.skip("bubblewrap (bwrap) is not installed")
        options = {"kernel_manager_class": SandboxedKernelManager}
    else:
        options = {"kernel_name": "python3"}
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(LABS_WAY + 'print(tf.config.list_physical_devices("GPU"))'),
            nbformat.v4.new_code_cell(
                "import keras\n"  # the labs' first model: a masked recurrent layer
                "keras.layers.GRU(4)(tf.ones((2, 3, 5)), mask=tf.constant([[True, True, False]] * 2))"
            ),
            nbformat.v4.new_code_cell('import warnings\nwarnings.warn("a genuine warning")'),
        ]
    )
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(tmp_path)}}, **options).execute()
    first, model, last = nb.cells
    assert [o.get("name") for o in first.outputs] == ["stdout"], first.outputs
    assert first.outputs[0].text.strip() == "[]"
    assert not [o for o in model.outputs if o.get("name") == "stderr"], model.outputs
    assert any(o.get("name") == "stderr" and "UserWarning: a genuine warning" in o.text for o in last.outputs)


def test_auto_without_a_gpu_decides_cpu_without_importing_tensorflow():
    if not sys.platform.startswith("linux") or any(os.path.exists(p) for p in ("/dev/dxg", "/dev/kfd")) or not CPU_ONLY:
        pytest.skip("needs a Linux machine without GPU drivers")
    code = (
        "import sys\nfrom coursekit import profiles\n"
        "chosen = profiles.select('nmt', env={})\n"
        "print(chosen.name, 'tensorflow' in sys.modules)\n"
    )
    done = run_python(code)
    assert done.stdout.split() == ["cpu", "False"]
    assert done.stderr == ""


def test_where_the_filter_cannot_start_the_block_runs_unfiltered():
    code = textwrap.dedent(r"""
        import os, sys
        from coursekit import quiet
        sys.executable = "/nonexistent/python"
        with quiet.filtered_stderr(quiet.startup_pattern(gpu_expected=False)):
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                        b"are written to STDERR\n")
        print("went on")
    """)
    done = run_python(code)
    assert done.stdout.strip() == "went on" and "absl::InitializeLog" in done.stderr
