"""Pictures of a dataset, read back pixel by pixel: a tone lights its frequency's row, an
event's frame-target strip spans its onset to its offset, the PNG has the size drawn."""

import numpy as np
import pytest
import soundfile as sf
from conftest import run_command, write_audio

import spectroprep

pytest.importorskip("matplotlib")
from matplotlib import image  # noqa: E402

from spectroprep.plot.axes import row_frequencies  # noqa: E402
from spectroprep.plot.examples import preview  # noqa: E402


def _tone(path, hz, seconds, rate, channels=2):
    t = np.arange(round(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * hz * t) + 1e-3 * np.random.default_rng(0).standard_normal(len(t))
    sf.write(path, np.repeat(x[:, None], channels, axis=1), rate, subtype="PCM_24")


def _brightness(png):
    pixels = image.imread(png)[..., :3]
    return pixels @ np.array([0.299, 0.587, 0.114])  # magma: the loudest is the brightest


@pytest.mark.parametrize("preset", [None, "logmel-16k"], ids=["linear", "mel"])
@pytest.mark.parametrize("hz", [700, 3000])
def test_a_tone_lights_the_row_of_its_frequency(tmp_path, preset, hz):
    audio = tmp_path / "audio"
    audio.mkdir()
    _tone(audio / "tone.flac", hz, 2.0, 48000)
    ds = spectroprep.build(audio, tmp_path / "ds", config=preset, jobs=1)
    drawn = preview(ds, tmp_path / "p.png", ids=[2])
    box = drawn.panels[0].spectrogram
    column = box.pixel(0.5, 0)[0]
    strip = _brightness(drawn.path)[int(box.top) + 2 : int(box.bottom) - 2, column]
    brightest = int(box.top) + 2 + int(np.argmax(strip))
    frequencies = row_frequencies(spectroprep.open_dataset(ds).config)
    expected = box.pixel(0.5, float(np.interp(hz, frequencies, np.arange(len(frequencies)))))[1]
    row_height = (box.bottom - box.top) / len(frequencies)
    assert abs(brightest - expected) <= row_height + 2, (brightest, expected)


def test_an_events_frame_strip_spans_its_onset_to_its_offset(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "park.flac", 2.0, 44100, channels=2, seed=1)
    table = tmp_path / "events.tsv"
    table.write_text("filename\tonset\toffset\tevent_label\npark.flac\t0.3\t0.7\tbird\n"
                     "park.flac\t1.2\t1.9\tcar\n")  # fmt: skip
    ds = spectroprep.build(audio, tmp_path / "ds", events=table, jobs=1)
    drawn = preview(ds, tmp_path / "p.png", ids=[1, 2])
    first, second = drawn.panels
    assert first.frame_classes == ["bird"] and second.frame_classes == ["car"]
    assert first.title.startswith("bird\npark.flac @ 0.00 s")
    brightness = _brightness(drawn.path)
    box = first.frames
    inside = round(box.left) + 2, round(box.right) - 2  # within the axes' frame lines
    row = brightness[round((box.top + box.bottom) / 2), inside[0] : inside[1]]
    dark = np.flatnonzero(row < 0.5) + inside[0]
    frame = 0.01 * (box.right - box.left) / (box.x_range[1] - box.x_range[0])
    assert abs(dark[0] - box.pixel(0.3, 0)[0]) <= frame + 2
    assert abs(dark[-1] - box.pixel(0.7, 0)[0]) <= frame + 2
    assert len(dark) == dark[-1] - dark[0] + 1  # one run: the event, nothing else


def test_the_png_has_the_size_of_its_grid_and_shows_the_audio(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "dog" / "bark.ogg", 3.0, 44100, seed=2)
    write_audio(audio / "cat" / "purr.wav", 2.0, 22050, channels=2, seed=3)
    ds = spectroprep.build(audio, tmp_path / "ds", labels_from_folders=True, jobs=1)
    drawn = preview(ds, tmp_path / "p.png", count=4, seed=1, audio=True)
    assert drawn.size == (3 * 460, 2 * 360)
    assert image.imread(drawn.path).shape[:2] == (720, 1380)
    assert all(p.waveform is not None for p in drawn.panels)
    assert len({p.id for p in drawn.panels}) == 4
    cats = preview(ds, tmp_path / "c.png", label="cat", count=5)
    assert [p.title.split("\n")[0] for p in cats.panels] == ["cat", "cat"]


def test_the_command_names_its_mistakes(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "dog" / "bark.flac", 2.0, 48000, channels=2, seed=2)
    write_audio(audio / "cat" / "purr.wav", 2.0, 16000, seed=3)
    ds = spectroprep.build(audio, tmp_path / "ds", labels_from_folders=True, jobs=1)
    done = run_command("preview", ds, "--out", tmp_path / "p.png", "--ids", "1,3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {tmp_path / 'p.png'} (920 x 360 px): examples 1, 3")
    wrong = run_command("preview", ds, "--out", tmp_path / "p.png", "--class", "Dog")
    assert wrong.returncode == 2 and "no class 'Dog'; did you mean 'dog'?" in wrong.stderr
    far = run_command("preview", ds, "--out", tmp_path / "p.png", "--ids", "9")
    assert far.returncode == 2 and "no example with id 9 (ids are 1 to 4)" in far.stderr
    plot = run_command("info", ds, "--plot", tmp_path / "i.png")
    assert plot.returncode == 0 and image.imread(tmp_path / "i.png").shape[:2] == (450, 1500)
