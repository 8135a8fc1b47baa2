"""Progress on long work: with the bars off (CI, the paper runs), a loop with a name logs how
far it is, so a rule's log shows progress; the trainer, which logs its own, does not."""

import logging

from deeplimits import logs


def test_a_named_loop_logs_its_progress_when_the_bars_are_off(monkeypatch, caplog):
    monkeypatch.setenv("DEEPLIMITS_PROGRESS", "0")
    monkeypatch.setattr(logs, "LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="deeplimits.progress"):
        assert list(logs.progress(range(3), desc="XZ.1 alpha=1", unit="segment")) == [0, 1, 2]
    assert [r.getMessage().split(", ")[0] for r in caplog.records] == [
        f"XZ.1 alpha=1: {i} of 3 segment(s) done" for i in (1, 2, 3)]


def test_the_trainer_and_unnamed_loops_log_nothing(monkeypatch, caplog):
    monkeypatch.setenv("DEEPLIMITS_PROGRESS", "0")
    monkeypatch.setattr(logs, "LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="deeplimits.progress"):
        bar = logs.progress(range(2), desc="cell", log_lines=False)
        assert list(bar) == [0, 1]
        bar.set_postfix(loss="1")  # still a (silent) bar
        assert list(logs.progress(range(2))) == [0, 1]
    assert not caplog.records


def test_a_resumed_loop_counts_from_where_it_resumed(monkeypatch, caplog):
    monkeypatch.setenv("DEEPLIMITS_PROGRESS", "0")
    monkeypatch.setattr(logs, "LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="deeplimits.progress"):
        assert list(logs.progress(range(8, 11), desc="HZ.1 alpha=0.2", initial=7, total=10)) == [8, 9, 10]
    assert [r.getMessage().split(", ")[0] for r in caplog.records] == [
        f"HZ.1 alpha=0.2: {i} of 10 it(s) done" for i in (8, 9, 10)]
