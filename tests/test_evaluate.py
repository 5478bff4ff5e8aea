"""Evaluation metrics: speaker similarity (ONNX Resemblyzer), MCD, prosody, the eval report and CLI.

Real-speech cases read ../shared/data/speech (two speakers reading the same LJ Speech
sentences) and are skipped, with the reason, where that folder is absent. The speaker
encoder is built once per session into the session's own data folder.
"""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicestudio.audio.io import Audio, read_audio, resample
from voicestudio.cli import main
from voicestudio.evaluate import mcd, prosody, secs, speaker_model
from voicestudio.evaluate.prosody import ProsodyStats, prosody_stats
from voicestudio.evaluate.secs import SpeakerEncoder, speaker_similarity
from voicestudio.evaluate.speaker_model import SpeakerEncoderUnavailableError
from voicestudio.styling.controls import StyleControls
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent
from voicestudio.voice.evaluation import (
    EvaluationError,
    evaluate_voice,
    leave_one_out_similarity,
    load_reference_set,
    read_texts,
    text_key,
)

SENTENCE = ("Printing, then, for our purpose, may be considered as the art of making books by "
            "means of movable types.")
SHARED_CLIP = "LJ001-0009.flac"  # SENTENCE, read by both speakers
RATE = 22050


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="session")
def encoder(_isolated_user_data) -> SpeakerEncoder:
    """Built from Resemblyzer's weights into the session's data folder (once), then loaded.

    Skipped only where building is impossible by design (no torch, or no Resemblyzer
    weights); any other failure to build or load fails the tests that need it.
    """
    import importlib.util

    path = speaker_model.encoder_model_path()
    assert str(path).startswith(str(_isolated_user_data)), (
        "the model must go to the test data folder"
    )
    if importlib.util.find_spec("torch") is None:
        pytest.skip("building the speaker encoder needs torch (pip install 'voicestudio[train]')")
    try:
        speaker_model.resemblyzer_weights_path()
    except SpeakerEncoderUnavailableError as exc:
        pytest.skip(str(exc))
    return SpeakerEncoder()


@pytest.fixture(scope="module")
def sentence(synth) -> np.ndarray:
    """SENTENCE by the base voice without randomness (about 6 s), shared by several tests."""
    return speak(synth, SENTENCE, variability=0.0)


def speak(synth, text: str, **controls) -> np.ndarray:
    return np.concatenate([c.samples for c in synth.synthesize(text, StyleControls(**controls))])


def manifest_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "manifest.tsv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def harmonic_tone(f0_hz, seconds: float, rate: int = RATE) -> np.ndarray:
    """A buzz with 10 harmonics whose F0 follows ``f0_hz(t)`` (phase integrated sample by
    sample)."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = np.broadcast_to(np.asarray(f0_hz(t), dtype=np.float64), t.shape)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 11))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def expect_failure(rc: int, out: str, err: str, *fragments: str) -> None:
    assert rc != 0, f"expected failure, got rc={rc}; stdout={out!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voicestudio: error: "), err
    assert "Traceback" not in err and out == ""
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), f"{fragment!r} not in {lines[0]!r}"


# --------------------------------------------------------------------------- the speaker encoder


def test_onnx_encoder_matches_torch(encoder, sentence):
    torch = pytest.importorskip("torch", reason="torch (the training extra) is not installed")
    from voicestudio.training.speaker_encoder import load_encoder

    net = load_encoder(speaker_model.resemblyzer_weights_path())
    mels = secs.partial_mels(secs.preprocess(sentence, RATE))
    assert mels.shape[0] >= 3 and mels.shape[1:] == (160, 40)
    odd = mels[:2, :97]  # other batch sizes and lengths than the export example
    for batch in (mels, mels[:1], odd):
        with torch.no_grad():
            expected = net(torch.from_numpy(np.ascontiguousarray(batch))).numpy()
        got = encoder.embed_partials(batch)
        assert got.shape == (len(batch), 256)
        assert np.abs(got - expected).max() < 1e-5


def test_partial_windows_follow_resemblyzer():
    # 1.3 windows per second = a 77-frame step; the last window stays if >= 75 % holds audio.
    assert secs.partial_starts(3 * 16000) == [0, 77, 154]
    assert secs.partial_starts(32000) == [0, 77]  # last window 76.9 % covered: kept
    assert secs.partial_starts(30400) == [0]  # 70.6 %: dropped
    assert secs.partial_starts(1000) == [0]  # always at least one


def test_mel_is_linear_power():
    x = harmonic_tone(lambda t: 200.0, 1.0, 16000)
    mel = secs.mel_frames(x)
    assert mel.shape == (1 + len(x) // 160, 40)
    np.testing.assert_allclose(secs.mel_frames(2 * x), 4 * mel, rtol=1e-4, atol=1e-9)


def test_embedding_is_unit_length_and_independent_of_gain(encoder, sentence):
    x = sentence
    base = encoder.embed(x, RATE)
    assert base.shape == (256,) and abs(np.linalg.norm(base) - 1.0) < 1e-5
    for gain in (0.03, 0.3, 3.0):
        other = encoder.embed(gain * x, RATE)
        assert abs(np.linalg.norm(other) - 1.0) < 1e-5
        assert float(base @ other) > 0.999, f"gain {gain}"
    # Without levelling, the network itself would move with gain (why preprocess levels first).
    raw = secs.partial_mels(resample(x, RATE, 16000))
    quiet = encoder.embed_partials(raw * 0.03**2).mean(0)
    assert float(secs.unit(encoder.embed_partials(raw).mean(0)) @ secs.unit(quiet)) < 0.995


def test_similarity_api(encoder, synth):
    a = Audio(speak(synth, "The bus to the city leaves at nine.", variability=0.0), RATE)
    b = Audio(speak(synth, "We need to buy bread and eggs today.", variability=0.0), RATE)
    ea, eb = encoder.embed_many([a, b])
    assert speaker_similarity(a, b, encoder) == pytest.approx(float(ea @ eb), abs=1e-6)
    assert speaker_similarity(ea, ea) == pytest.approx(1.0, abs=1e-6)
    mean = secs.mean_embedding([ea, eb])
    assert abs(np.linalg.norm(mean) - 1) < 1e-6 and float(mean @ ea) > float(eb @ ea)
    with pytest.raises(ValueError, match="256"):
        speaker_similarity(np.ones(10), ea)
    with pytest.raises(secs.InvalidAudioError, match="silent"):
        encoder.embed(np.zeros(RATE, dtype=np.float32), RATE)


def test_same_speaker_scores_higher_than_other_speakers(encoder, synth, shared_speech):
    pm, lj = shared_speech / "pmatthes", shared_speech / "ljspeech"
    rows = manifest_rows(pm)
    reference = secs.reference_embedding([pm / r["file"] for r in rows[:6]], encoder)
    same = encoder.embed_files([pm / r["file"] for r in rows[6:9]]) @ reference
    other = encoder.embed_files([lj / r["file"] for r in manifest_rows(lj)[:3]]) @ reference
    joe = np.array(
        [encoder.embed(speak(synth, r["transcript"]), RATE) @ reference for r in rows[6:9]]
    )
    print(
        f"SECS to pmatthes: pmatthes {same.mean():.3f}, "
        f"ljspeech {other.mean():.3f}, joe {joe.mean():.3f}"
    )
    assert same.min() > 0.85
    assert other.max() < same.min() - 0.2
    assert joe.max() < same.min() - 0.15


def test_missing_torch_or_weights_is_a_clear_error(tmp_path: Path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    hidden = {"torch"}
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in hidden else real_find_spec(name, *a))
    with pytest.raises(SpeakerEncoderUnavailableError, match=r"needs torch.*voicestudio\[train\]"):
        speaker_model.ensure_encoder_model(tmp_path / "encoder.onnx")
    hidden.add("resemblyzer")
    with pytest.raises(SpeakerEncoderUnavailableError, match="pip install --no-deps Resemblyzer"):
        speaker_model.ensure_encoder_model(tmp_path / "encoder.onnx")
    assert not (tmp_path / "encoder.onnx").exists()


def test_damaged_model_file_is_a_clear_error(tmp_path: Path):
    broken = tmp_path / "speaker_encoder-v1.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(SpeakerEncoderUnavailableError, match="delete the file"):
        SpeakerEncoder(broken)


def test_scoring_runs_without_torch(encoder, _isolated_user_data):
    """With the model built, similarity, MCD and prosody never import torch."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from voicestudio.evaluate import mcd, prosody, secs
        from voicestudio.voice import evaluation
        x = (np.random.default_rng(0).standard_normal(32000) * 0.1).astype(np.float32)
        assert secs.SpeakerEncoder().embed(x, 16000).shape == (256,)
        prosody.prosody_stats([(x, 16000)])
        assert "torch" not in sys.modules, "torch was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- MCD


def test_dtw_finds_the_cheapest_monotonic_path():
    rng = np.random.default_rng(1)
    cost = rng.random((23, 31))
    best = np.full((24, 32), np.inf)
    best[0, 0] = 0.0
    for i in range(1, 24):
        for j in range(1, 32):
            best[i, j] = cost[i - 1, j - 1] + min(
                best[i - 1, j], best[i, j - 1], best[i - 1, j - 1]
            )
    rows, cols = mcd.dtw_path(cost)
    assert (rows[0], cols[0], rows[-1], cols[-1]) == (0, 0, 22, 30)
    steps = np.stack([np.diff(rows), np.diff(cols)], axis=1)
    assert set(map(tuple, steps)) <= {(1, 0), (0, 1), (1, 1)}
    assert cost[rows, cols].sum() == pytest.approx(best[-1, -1])


def test_mcd_of_a_clip_with_itself_and_a_retimed_copy(synth, sentence):
    x = sentence
    # WORLD re-timing of the same model output
    faster = speak(synth, SENTENCE, variability=0.0, speed=1.2)
    assert len(faster) < 0.9 * len(x)
    itself = mcd.mel_cepstral_distortion(x, RATE, x, RATE)
    retimed = mcd.mel_cepstral_distortion(x, RATE, faster, RATE)
    print(f"MCD joe: itself {itself:.3f} dB, re-timed {retimed:.2f} dB")
    assert itself < 0.1  # RAPT (pysptk) is not bit-reproducible call to call, so not exactly 0
    assert 0.5 < retimed < 5.0


def test_mcd_of_another_speaker_is_larger(shared_speech):
    from voicestudio.styling.controls import StyleParams
    from voicestudio.styling.world import analyze, render

    pm = read_audio(shared_speech / "pmatthes" / SHARED_CLIP)
    lj = read_audio(shared_speech / "ljspeech" / SHARED_CLIP)
    stretched = render(analyze(pm.samples, pm.sample_rate), StyleParams(speed=1.15))
    retimed = mcd.mel_cepstral_distortion(pm.samples, pm.sample_rate, stretched, pm.sample_rate)
    other = mcd.mel_cepstral_distortion(pm.samples, pm.sample_rate, lj.samples, lj.sample_rate)
    print(f"MCD pmatthes: re-timed copy {retimed:.2f} dB, ljspeech {other:.2f} dB")
    assert retimed < 5.0
    assert other > 8.0 and other > retimed + 3.0


def test_mcd_needs_speech():
    silence = np.zeros(RATE, dtype=np.float32)
    with pytest.raises(secs.InvalidAudioError, match="no speech"):
        mcd.mel_cepstrum(silence, RATE)


# --------------------------------------------------------------------------- prosody


@pytest.mark.parametrize("f0", [85.0, 150.0, 230.0, 380.0])
def test_f0_of_a_harmonic_tone(f0):
    stats = prosody_stats([(harmonic_tone(lambda t: f0, 1.5), RATE)])
    assert stats.f0_median_hz == pytest.approx(f0, rel=0.01)
    assert stats.f0_range_st < 0.2
    assert stats.voiced_frames > 250 and stats.speaking_rate_pps is None


def test_f0_range_of_a_glide():
    # One octave up in 2 s, exponential: the 10th/90th percentiles lie 0.1 / 0.9 octave up.
    stats = prosody_stats([(harmonic_tone(lambda t: 100.0 * 2 ** (t / 2.0), 2.0), RATE)])
    assert stats.f0_p10_hz == pytest.approx(100 * 2**0.1, rel=0.02)
    assert stats.f0_p90_hz == pytest.approx(100 * 2**0.9, rel=0.02)
    assert stats.f0_range_st == pytest.approx(12 * 0.8, abs=0.5)


def test_f0_statistics_pool_frames_not_clip_medians():
    long_low = (harmonic_tone(lambda t: 100.0, 2.0), RATE)
    short_high = (harmonic_tone(lambda t: 200.0, 0.5), RATE)
    stats = prosody_stats([long_low, short_high])
    assert stats.f0_median_hz == pytest.approx(100.0, rel=0.01)  # not (100 + 200) / 2
    assert stats.f0_p90_hz == pytest.approx(200.0, rel=0.01)


def test_silence_has_no_pitch():
    stats = prosody_stats([(np.zeros(RATE, dtype=np.float32), RATE, "hello")])
    assert stats.voiced_frames == 0 and stats.f0_median_hz is None and stats.f0_range_st is None
    assert stats.speaking_rate_pps is None  # no speech time to divide by


def test_speaking_rate_is_sane_and_follows_speed(synth):
    texts = [
        "The children are playing outside in the park.",
        "Can you call me back this afternoon?",
    ]
    normal = prosody_stats([(speak(synth, t, variability=0.0), RATE, t) for t in texts])
    fast = prosody_stats([(speak(synth, t, variability=0.0, speed=1.4), RATE, t) for t in texts])
    print(
        f"joe: {normal.speaking_rate_pps:.1f} phonemes/s, at speed "
        f"1.4: {fast.speaking_rate_pps:.1f}"
    )
    assert 8.0 < normal.speaking_rate_pps < 20.0
    assert fast.speaking_rate_pps / normal.speaking_rate_pps == pytest.approx(1.4, rel=0.15)
    assert 60.0 < normal.f0_median_hz < 160.0  # joe is a low male voice


def test_prosody_of_real_speakers(shared_speech):
    def stats(corpus: str) -> ProsodyStats:
        rows = manifest_rows(shared_speech / corpus)[:4]
        clips = [read_audio(shared_speech / corpus / r["file"]) for r in rows]
        return prosody_stats(
            [(a.samples, a.sample_rate, r["transcript"]) for a, r in zip(clips, rows, strict=True)]
        )

    male, female = stats("pmatthes"), stats("ljspeech")  # README: F0 about 107 and 227 Hz
    print(f"pmatthes {male}\nljspeech {female}")
    assert 90 < male.f0_median_hz < 130 and 190 < female.f0_median_hz < 250
    assert 8.0 < male.speaking_rate_pps < 16.0 and 8.0 < female.speaking_rate_pps < 16.0


def test_prosody_stats_round_trip_with_stable_names():
    stats = ProsodyStats(105.2, 90.1, 140.7, 7.7, 1234, 12.5)
    data = stats.to_dict()
    assert list(data) == ["f0_median_hz", "f0_p10_hz", "f0_p90_hz", "f0_range_st", "voiced_frames",
                          "speaking_rate_pps"]
    assert ProsodyStats.from_dict(data) == stats
    assert ProsodyStats.from_dict({**data, "added_later": 1}) == stats
    assert (
        ProsodyStats.from_dict(
            {**data, "f0_median_hz": None, "speaking_rate_pps": 12}
        ).speaking_rate_pps
        == 12.0
    )
    for bad in (
        {**data, "voiced_frames": -1},
        {**data, "f0_p10_hz": "90"},
        {**data, "f0_p90_hz": math.nan},
        {k: v for k, v in data.items() if k != "voiced_frames"},
    ):
        with pytest.raises(ValueError):
            ProsodyStats.from_dict(bad)


def test_phoneme_count_ignores_stress_and_punctuation():
    assert prosody.phoneme_count("cat") == 3  # k æ t
    assert prosody.phoneme_count("Cat, cat!") == 6


# --------------------------------------------------------------------------- report and CLI


@pytest.fixture(scope="module")
def joe_references(synth, tmp_path_factory) -> Path:
    """A reference folder in the importer's .txt layout, spoken by the base voice itself."""
    folder = tmp_path_factory.mktemp("joe-refs")
    texts = [
        "My sister is reading a book in the garden.",
        "Please open the window before you leave.",
        "It is going to rain later this evening.",
    ]
    for i, text in enumerate(texts):
        sf.write(folder / f"clip{i}.wav", speak(synth, text), RATE)
        (folder / f"clip{i}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def test_eval_cli_prints_a_table(capsys, tmp_path: Path, joe_references: Path, encoder):
    texts = tmp_path / "texts.txt"
    texts.write_text(
        "# held-out sentences\nplease open the window before "
        "you leave\n\nWe need to buy bread and eggs today.\n",
        encoding="utf-8",
    )
    rc = main(["eval", "--voice", "joe", "--reference", str(joe_references), "--texts", str(texts)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    print(out)
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("voice en_US-joe-medium"))
    ceiling = next(line for line in lines if line.startswith("real speech (ceiling)"))
    secs_voice, ovrl, sig, wer, mcd_db, buzz = (float(v) for v in row.split()[2:8])
    assert secs_voice > 0.8 and wer < 0.5  # the references are this voice
    assert 2.5 < ovrl < 5 and 2.5 < sig < 5  # the base voice is clean speech
    assert 0.2 < buzz < 2.0  # no frame-rate comb in the base voice
    assert 0.0 < mcd_db < 6.0  # one sentence has a reference (case and punctuation differ)
    assert "1 of 2 sentences" in out
    assert float(ceiling.split()[3]) > 0.8
    assert "no separate floor row" in out  # the voice is the base voice


def test_eval_report_with_floor_on_real_speech(tmp_path: Path, shared_speech, encoder, joe):
    pm = shared_speech / "pmatthes"
    rows = manifest_rows(pm)[:5]
    (tmp_path / "refs").mkdir()
    for r in rows:
        shutil.copy(pm / r["file"], tmp_path / "refs" / r["file"])
    with open(tmp_path / "refs" / "manifest.tsv", "w", encoding="utf-8") as handle:
        handle.write("file\tduration_s\tsample_rate\ttranscript\n")
        handle.writelines(
            f"{r['file']}\t{r['duration_s']}\t{r['sample_rate']}\t{r['transcript']}\n" for r in rows
        )
    voice = tmp_path / "clone.onnx"  # the base voice under another name stands in for a clone
    shutil.copy(joe.model_path, voice)
    shutil.copy(
        joe.model_path.with_name(joe.model_path.name + ".json"), tmp_path / "clone.onnx.json"
    )
    report = evaluate_voice(
        str(voice), tmp_path / "refs", [rows[1]["transcript"]], encoder=encoder, provider="cpu"
    )
    print(report.format_table())
    assert report.real.clips == 5 and report.voice.name == "clone"
    assert report.floor is not None and report.floor.name == "en_US-joe-medium"
    assert report.real.secs_ceiling > 0.85
    for scores in (report.voice, report.floor):
        assert scores.secs < report.real.secs_ceiling - 0.15
        assert scores.mcd_texts == 1 and scores.mcd_db > 6.0
    # joe is lower than pmatthes
    assert report.voice.prosody.f0_median_hz < report.real.prosody.f0_median_hz
    assert "base voice en_US-joe-medium" in report.format_table()
    for quality in (report.voice.quality, report.floor.quality, report.real.quality):
        assert quality is not None and 2.0 < quality.ovrl < 5.0 and 2.0 < quality.sig < 5.0
    assert report.real.buzz is not None and 0.2 < report.real.buzz < 2.0  # real speech: about 1


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["--voice", "joe", "--reference", "{refs}", "--texts", "{tmp}/missing.txt"],
            ["texts file not found"],
        ),
        (
            ["--voice", "joe", "--reference", "{tmp}/nowhere", "--texts", "{texts}"],
            ["not found", "nowhere"],
        ),
        (
            ["--voice", "joe", "--reference", "{tmp}", "--texts", "{texts}"],
            ["no recordings with transcripts"],
        ),
        (
            ["--voice", "no-such-voice", "--reference", "{refs}", "--texts", "{texts}"],
            ["unknown voice"],
        ),
        (["--voice", "joe", "--reference", "{refs}", "--texts", "{empty}"], ["no sentences"]),
        (
            [
                "--voice",
                "joe",
                "--reference",
                "{refs}",
                "--texts",
                "{texts}",
                "--max-references",
                "1",
            ],
            ["at least 2"],
        ),
    ],
    ids=[
        "texts-missing",
        "reference-missing",
        "no-transcripts",
        "unknown-voice",
        "empty-texts",
        "one-reference",
    ],
)
def test_eval_cli_bad_input_fails_cleanly(
    capsys, tmp_path: Path, joe_references: Path, args, fragments
):
    texts, empty = tmp_path / "texts.txt", tmp_path / "empty.txt"
    texts.write_text("Hello there.\n", encoding="utf-8")
    empty.write_text("\n# only a comment\n", encoding="utf-8")
    values = {"refs": joe_references, "tmp": tmp_path, "texts": texts, "empty": empty}
    rc = main(["eval", *(a.format(**values) for a in args)])
    expect_failure(rc, *capsys.readouterr(), *fragments)


def test_eval_cli_requires_its_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--voice", "joe"])
    assert exc.value.code == 2
    assert "--reference" in capsys.readouterr().err


def test_reference_set_from_a_project(tmp_path: Path, synth):
    from voicestudio.project.project import VoiceProject

    statement = fill_consent(CONSENT_TEMPLATE, "refs", "May 1, 2026")
    project = VoiceProject.create(
        "refs", tmp_path, prompts=[statement, "First line here.", "Second line.", "Not recorded."]
    )
    for i in range(3):
        project.add_take(i, speak(synth, project.prompts[i].text), RATE)
    refs = load_reference_set(project.folder)
    assert refs.layout == "VoiceStudio project"
    # the takes that train (project.selection): the consent statement is no reference
    assert [c.text for c in refs.clips] == ["First line here.", "Second line."]
    assert all(c.path.is_file() for c in refs.clips)


def test_texts_file_and_matching(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_text("\ufeffOne.\n  # comment\n\n  Two, three!  \n", encoding="utf-8")
    assert read_texts(path) == ["One.", "Two, three!"]
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(EvaluationError, match="UTF-8"):
        read_texts(path)
    assert text_key("Printing, then: for OUR purpose.") == text_key("printing then for our purpose")


def test_leave_one_out_similarity():
    e = np.eye(3, dtype=np.float32)
    assert leave_one_out_similarity(e) == pytest.approx(0.0)
    same = np.tile(secs.unit(np.arange(1, 5, dtype=np.float32)), (3, 1))
    assert leave_one_out_similarity(same) == pytest.approx(1.0)
    assert leave_one_out_similarity(same[:1]) is None
