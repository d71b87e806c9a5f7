"""The shipped data: checksums, clear errors, deterministic and sound splits."""

import shutil

import numpy as np
import pytest

from coursekit import data


def test_every_shipped_data_file_matches_its_checksum():
    sums = data.expected_checksums()
    assert set(sums) == {data.IMDB_FILE, data.TATOEBA_FILE}
    for name, digest in sums.items():
        assert data.sha256_of(data.DATA_DIR / name) == digest, name


@pytest.fixture
def data_copy(tmp_path):
    shutil.copy(data.SUMS_FILE, tmp_path / "SHA256SUMS")
    shutil.copy(data.DATA_DIR / data.TATOEBA_FILE, tmp_path / data.TATOEBA_FILE)
    return tmp_path


def test_missing_file_error_names_the_file_and_the_fix(data_copy):
    (data_copy / data.TATOEBA_FILE).unlink()
    with pytest.raises(data.DataError, match=rf"{data.TATOEBA_FILE} is missing.*git checkout"):
        data.verified_path(data.TATOEBA_FILE, data_copy)


def test_corrupt_file_error_names_the_file_and_both_checksums(data_copy):
    path = data_copy / data.TATOEBA_FILE
    path.write_bytes(path.read_bytes()[:1000])  # e.g. an interrupted download
    expected = data.expected_checksums()[data.TATOEBA_FILE]
    with pytest.raises(data.DataError, match=rf"{data.TATOEBA_FILE} is corrupt.*expected {expected}"):
        data.verified_path(data.TATOEBA_FILE, data_copy)


def test_git_lfs_pointer_is_reported_as_corrupt(data_copy):
    (data_copy / data.TATOEBA_FILE).write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1260624\n"
    )
    with pytest.raises(data.DataError, match="corrupt or incomplete"):
        data.verified_path(data.TATOEBA_FILE, data_copy)


@pytest.fixture(scope="module")
def imdb():
    return data.load_imdb()


def test_imdb_split_keeps_the_official_test_set_and_holds_out_validation(imdb):
    assert [len(imdb[k]) for k in ("train", "validation", "test")] == [22_500, 2_500, 25_000]
    assert imdb["test"].labels.mean() == 0.5
    assert 0.45 < imdb["train"].labels.mean() < 0.55 and 0.45 < imdb["validation"].labels.mean() < 0.55


def test_imdb_split_is_shuffled_the_same_way_every_time(imdb):
    again = data.load_imdb()
    for key in imdb:
        assert imdb[key].texts == again[key].texts
        np.testing.assert_array_equal(imdb[key].labels, again[key].labels)
    # shuffled: the sorted file would start with 12,500 negatives
    assert 0.3 < imdb["test"].labels[:100].mean() < 0.7


def test_imdb_training_and_test_reviews_come_from_different_rows(imdb):
    df = data.pd.read_csv(data.verified_path(data.IMDB_FILE))
    official_test = set(df["review"].iloc[data.IMDB_TRAIN_ROWS :])
    assert set(imdb["test"].texts) == official_test
    train_rows = set(imdb["train"].texts) | set(imdb["validation"].texts)
    assert train_rows == set(df["review"].iloc[: data.IMDB_TRAIN_ROWS])


def test_tatoeba_pairs_keep_their_attribution():
    pairs = data.load_tatoeba()
    assert pairs.shape == (29_155, 3)
    assert pairs["attribution"].str.startswith("CC-BY 2.0 (France) Attribution: tatoeba.org").all()
