"""Profile selection: auto picks full on a GPU and cpu otherwise; timeouts fit each profile."""

import pytest

from coursekit import profiles


@pytest.mark.parametrize("value", [None, "", "auto", " AUTO "])
def test_auto_picks_cpu_when_tensorflow_sees_no_gpu(value):
    env = {} if value is None else {"COURSE_PROFILE": value}
    chosen = profiles.select("sentiment", env=env, gpus=[])
    assert chosen.name == "cpu" and "no GPU" in chosen.reason


def test_auto_picks_full_when_tensorflow_sees_a_gpu():
    fake_gpu = object()
    chosen = profiles.select("sentiment", env={}, gpus=[fake_gpu])
    assert chosen.name == "full" and "1 GPU" in chosen.reason
    assert (chosen.units, chosen.embedding_dim, chosen.batch_size, chosen.epochs) == (1024, 256, 128, 10)


@pytest.mark.parametrize("name", profiles.NAMES)
def test_an_explicit_profile_wins_over_the_hardware(name):
    chosen = profiles.select("sentiment", env={"COURSE_PROFILE": name}, gpus=[object()])
    assert chosen.name == name and f"COURSE_PROFILE={name}" in chosen.reason


def test_an_unknown_profile_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="auto, full, cpu, smoke"):
        profiles.select("sentiment", env={"COURSE_PROFILE": "fast"})


def test_printed_profile_says_which_ran_and_why():
    text = str(profiles.select("sentiment", env={"COURSE_PROFILE": "cpu"}))
    assert text.startswith("Profile 'cpu' for sentiment: COURSE_PROFILE=cpu was set") and "units=128" in text


@pytest.mark.parametrize("lab", profiles.SETTINGS)
def test_timeouts_grow_with_the_profile_and_leave_room_for_the_whole_notebook(lab):
    s = profiles.SETTINGS[lab]
    for name in profiles.NAMES:
        assert s[name]["cell_timeout"] < s[name]["notebook_timeout"]
    assert s["smoke"]["notebook_timeout"] < s["cpu"]["notebook_timeout"] < s["full"]["notebook_timeout"]


def test_configure_tensorflow_lets_every_gpu_grow_its_memory(monkeypatch):
    import tensorflow as tf

    grown = []
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda gpu, on: grown.append((gpu, on)))
    profiles.configure_tensorflow(0, gpus=["gpu:0", "gpu:1"])
    assert grown == [("gpu:0", True), ("gpu:1", True)]
