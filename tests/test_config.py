import re
from pathlib import Path

import pytest

from spectroprep.config import Config, load_config, parse_override, preset_names, presets_dir
from spectroprep.errors import ConfigError


def test_default_config_matches_the_documented_recipe():
    cfg = load_config()
    assert cfg.audio.sample_rate == 16000
    assert (cfg.segment.length, cfg.segment.hop, cfg.segment.pad) == (1.0, 1.0, "zero")
    spec = cfg.spectrogram
    assert (spec.n_fft, spec.win_length, spec.hop_length, spec.eps) == (512, 400, 160, 1e-6)
    assert spec.scale == "log" and spec.power == 2
    assert cfg.window_samples == 16000 and cfg.hop_samples == 16000


def test_presets_are_found_by_name_and_by_path():
    assert {"default", "seed-8k", "logmel-16k", "panns-32k", "speech-commands"} <= set(
        preset_names()
    )
    by_name = load_config("seed-8k")
    by_path = load_config(presets_dir() / "seed-8k.toml")
    assert by_name == by_path
    assert by_name.audio.sample_rate == 8000
    assert by_name.spectrogram.window == ("tukey", 0.25)
    assert by_name.spectrogram.standardize is True


def test_every_preset_loads():
    for name in preset_names():
        assert isinstance(load_config(name), Config)


def test_a_partial_config_file_is_merged_over_the_defaults(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text("[segment]\nlength = 0.5\nhop = 0.25\n")
    cfg = load_config(path)
    assert (cfg.segment.length, cfg.segment.hop) == (0.5, 0.25)
    assert cfg.spectrogram.n_fft == 512  # from default.toml


def test_set_overrides_parse_toml_values_or_fall_back_to_strings():
    assert parse_override("storage.shard_examples=64") == ("storage", "shard_examples", 64)
    assert parse_override("storage.compression=gzip:1") == ("storage", "compression", "gzip:1")
    assert parse_override("spectrogram.center=false") == ("spectrogram", "center", False)
    assert parse_override('spectrogram.window=["tukey", 0.5]')[2] == ["tukey", 0.5]
    cfg = load_config("seed-8k", ["storage.format=npy", "segment.hop=0.5"])
    assert cfg.storage.format == "npy" and cfg.segment.hop == 0.5


def test_integer_values_are_accepted_for_float_keys():
    cfg = load_config(None, ["segment.length=2", "segment.hop=2"])
    assert cfg.segment.length == 2.0 and isinstance(cfg.segment.length, float)


@pytest.mark.parametrize(
    "override, message",
    [
        ("spectrogram.nfft=512", "unknown key spectrogram.nfft; did you mean 'n_fft'?"),
        ("specgram.n_fft=512", "unknown section [specgram]; did you mean 'spectrogram'?"),
        ("audio.n_mels=64", "unknown key audio.n_mels; did you mean 'spectrogram.n_mels'?"),
        ("storage.format=zarr", "storage.format = 'zarr': must be one of"),
        ("storage.compression=gzip:x", "only gzip:N and blosc2-zstd:N take a level"),
        ("storage.compression=lzf:3", "only gzip:N and blosc2-zstd:N take a level"),
        ("spectrogram.win_length=1024", "must be <= n_fft"),
        ("segment.length=-1", "must be a positive number"),
        ("segment.length=0.00001", "whole number (>= 1) of samples"),
        ("segment.hop=1e-11", "whole number (>= 1) of samples"),
        ("segment.length=inf", "must be a positive number"),
        ("spectrogram.eps=inf", "must be a positive number"),
        ("spectrogram.power=true", "must be one of 1, 2"),
        ("spectrogram.window=foo", "not a scipy.signal.get_window spec"),
        ('spectrogram.window=[["tukey", 0.25]]', "not a scipy.signal.get_window spec"),
        ('spectrogram.window=["tukey", "x"]', "not a scipy.signal.get_window spec"),
        ("storage.compression=gzip:99", "level must be 0 to 9"),
        ("storage.compression=blosc2-zstd:10", "level must be 0 to 9"),
        ("audio.mono=[0]", 'must be "mean" or a channel index'),
        ("spectrogram.center=maybe", "must be true or false"),
        ("audio.sample_rate=16000.5", "must be a positive integer"),
        ("storage.shard_examples=0", "must be a positive integer"),
        ("nonsense", "expected section.key=value"),
    ],
)
def test_bad_values_are_errors_that_name_the_key(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, [override])


def test_reflect_padding_needs_segments_longer_than_half_a_frame():
    with pytest.raises(ConfigError, match=r"pad_mode = 'reflect': needs segments longer"):
        load_config(None, ["spectrogram.pad_mode=reflect", "segment.length=0.01"])


def test_a_bad_value_in_a_file_names_the_file(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[spectrogram]\nn_fft = "512"\n')
    with pytest.raises(
        ConfigError, match=r"c\.toml: spectrogram\.n_fft = '512': must be a positive"
    ):
        load_config(path)


def test_unknown_key_in_a_file_names_the_file(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("[audio]\nsamplerate = 8000\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: unknown key audio\.samplerate; did you"):
        load_config(path)


@pytest.mark.parametrize(
    ("config", "overrides", "named"),
    [
        (None, ["spectrogram.n_fft=-1"], "--set spectrogram.n_fft=-1: "),
        ("panns-32k", ["spectrogram.n_mels=-1"], "preset panns-32k + --set spectrogram.n_mels"),
        ("panns-32k", ["spectrogram.nmels=64"], "--set spectrogram.nmels=64: unknown key"),
    ],
)
def test_errors_name_the_users_input_never_a_path_inside_the_package(config, overrides, named):
    with pytest.raises(ConfigError) as caught:
        load_config(config, overrides)
    assert str(caught.value).startswith(named)
    assert "configs" not in str(caught.value) and ".toml" not in str(caught.value)


def test_a_bad_built_in_default_is_named_so(monkeypatch, tmp_path: Path):
    import spectroprep.config as config

    (tmp_path / "default.toml").write_text(
        (config.presets_dir() / "default.toml").read_text().replace("n_fft = 512", "n_fft = 0")
    )
    monkeypatch.setattr(config, "presets_dir", lambda: tmp_path)
    with pytest.raises(ConfigError, match="^the built-in default: spectrogram.n_fft = 0"):
        load_config()


def test_missing_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="no such config file or preset.*seed-8k"):
        load_config("no-such-preset")


def test_invalid_toml_is_reported(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text("[audio\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_config(path)


def test_to_dict_round_trips():
    cfg = load_config("seed-8k")
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["spectrogram"]["window"] == ["tukey", 0.25]


@pytest.mark.parametrize(
    "override, message",
    [
        ("spectrogram.n_mels=-1", r"spectrogram\.n_mels = -1: must be a whole number >= 0"),
        ("spectrogram.n_mels=true", r"spectrogram\.n_mels = True: must be a whole number"),
        ("spectrogram.fmin=-5.0", r"spectrogram\.fmin = -5\.0: must be a frequency >= 0 Hz"),
        ("spectrogram.mel_scale='bark'", r"spectrogram\.mel_scale = 'bark': must be one of"),
        ("spectrogram.norm='l2'", r"spectrogram\.norm = 'l2': must be one of"),
        ("spectrogram.scale='ln'", r"spectrogram\.scale = 'ln': must be one of 'log', 'db'"),
        ("spectrogram.ref=0", r"spectrogram\.ref = 0\.0: must be a positive number or \"max\""),
        ("spectrogram.ref='min'", r"spectrogram\.ref = 'min': must be a positive number or"),
        ("spectrogram.amin=0", r"spectrogram\.amin = 0\.0: must be a positive number"),
        ("spectrogram.amin=1e-40", r"spectrogram\.amin = 1e-40: must be at least 1\.18e-38"),
        ("spectrogram.eps=1e-45", r"spectrogram\.eps = 1e-45: must be at least 1\.18e-38"),
        ("spectrogram.top_db=-10", r"spectrogram\.top_db = -10\.0: must be a positive number"),
        ("spectrogram.precision='float16'", r"spectrogram\.precision = 'float16': must be one"),
    ],
)
def test_bad_feature_settings_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize("fmin, fmax", [(0.0, 9000.0), (4000.0, 3000.0), (8000.0, 0.0)])
def test_mel_edges_must_fit_below_nyquist(fmin, fmax):
    overrides = ["spectrogram.n_mels=40", f"spectrogram.fmin={fmin}", f"spectrogram.fmax={fmax}"]
    with pytest.raises(ConfigError, match=r"mel filters need fmin .* < fmax <= 8000 Hz"):
        load_config(None, overrides)
    assert load_config(None, overrides[1:]).spectrogram.n_mels == 0  # unchecked without mels
