"""Releases: publish, diff, rollback, the history, and how a process boots and follows the live one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config.files import MAX_FILE_BYTES, digest_of, read_files, write_folder
from ivr.core.errors import ConfigError
from ivr.live import LIVE_POINTER, LiveRelease, Publisher, ReleaseError
from ivr.records.store import CallStore
from tests.builders import shipped_copy
from tests.conftest import london

NOW = london("2026-11-30T10:00")  # a Monday, office hours
MASH, OUT_OF_HOURS, STANDBY = "+443004560108", "+443004560100", "+443004560100"
TRAINING = (
    "overrides:\n  - {services: [child-at-risk, allegation-about-staff], to: out-of-hours, "
    "from: 2026-12-02T09:00, until: 2026-12-02T12:00, reason: MASH training morning}\n"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "config"
    shipped_copy(made)
    return made


@pytest.fixture
def store(tmp_path: Path) -> CallStore:
    made = CallStore(f"sqlite:///{tmp_path / 'calls.sqlite3'}", instance_path=tmp_path)
    made.upgrade()
    return made


@pytest.fixture
def publisher(store: CallStore, tmp_path: Path) -> Publisher:
    return Publisher(store, tmp_path / "releases")


def divert(folder: Path) -> None:
    """Add the MASH training diversion (Wed 2 Dec 09:00-12:00) to Wiltshire's schedule."""
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace("overrides: []\n", TRAINING))


def live_over(folder: Path, publisher: Publisher) -> LiveRelease:
    live = LiveRelease(folder, publisher, poll_seconds=0, clock=lambda: NOW)
    live.boot()
    return live


def dialled_for(live: LiveRelease, at_text: str) -> str | None:
    snapshot = live.current()
    assert snapshot is not None
    decision = snapshot.config.router("wiltshire").route("child-at-risk", london(at_text))
    return decision.destination.key if decision.destination else None


# -- the files -------------------------------------------------------------------------------------


def test_read_files_refuses_a_link_outside_the_folder(folder: Path, tmp_path: Path) -> None:
    """A schedule that is a symlink to a file elsewhere is refused, naming the file, and not read."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    target = folder / "schedules" / "wiltshire.yaml"
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(ConfigError) as refused:
        read_files(folder)
    assert str(refused.value).startswith("schedules/wiltshire.yaml: is a link to ")
    assert "outside the configuration folder" in str(refused.value) and "hunter2" not in str(refused.value)


def test_read_files_refuses_a_file_over_a_mebibyte(folder: Path) -> None:
    """A file over 1 MiB is refused with its size before it is read."""
    (folder / "flows" / "wiltshire.yaml").write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(
        ConfigError, match=r"^flows/wiltshire.yaml: is 1,048,577 bytes; a configuration file may be at most 1 MiB$"
    ):
        read_files(folder)


def test_a_release_folder_is_written_whole_and_digested_by_content(tmp_path: Path) -> None:
    """The same files give the same digest in any order; a changed byte gives another; the folder holds them all."""
    files = {"schedules/a.yaml": b"one\n", "flows/a.yaml": b"two\n"}
    assert digest_of(files) == digest_of(dict(reversed(list(files.items()))))
    assert digest_of({**files, "flows/a.yaml": b"two!\n"}) != digest_of(files)
    written = write_folder(files, tmp_path / "r" / "abc")
    assert sorted(str(p.relative_to(written)) for p in written.rglob("*.yaml")) == ["flows/a.yaml", "schedules/a.yaml"]
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["abc"]  # no draft folder left behind


# -- publishing ------------------------------------------------------------------------------------


def test_publish_refuses_invalid_files_and_changes_nothing(folder: Path, publisher: Publisher) -> None:
    """An invalid schedule is refused with file:line; nothing is stored and nothing becomes live."""
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace('time: "08:45-17:00"', 'time: "08:45-17:0"', 1))
    with pytest.raises(ConfigError, match=r"schedules/wiltshire.yaml:\d+: .*time"):
        publisher.publish(folder, NOW, "alice", "broken")
    assert publisher.releases.live() is None and publisher.releases.history() == []


def test_publish_twice_is_one_release(folder: Path, publisher: Publisher) -> None:
    """Publishing files that are already live stores nothing new and says so."""
    first = publisher.publish(folder, NOW, "alice", "first")
    again = publisher.publish(folder, NOW, "bob", "again")
    assert (first.changed, again.changed, again.digest) == (True, False, first.digest)
    assert [e.by for e in publisher.releases.history()] == ["alice"]


def test_a_diversion_starting_now_is_written_to_the_routing_history_with_who(
    folder: Path, publisher: Publisher, store: CallStore
) -> None:
    """A publication that changes who answers now records it, with the release and the person."""
    publisher.publish(folder, london("2026-12-02T09:30"), "alice", "first")
    divert(folder)
    done = publisher.publish(folder, london("2026-12-02T09:30"), "bob", "MASH training")
    assert done.changes_now == (
        "wiltshire child-at-risk: the Multi-Agency Safeguarding Hub -> the Out of Hours Service (diversion 'MASH training morning')",
        "wiltshire allegation-about-staff: the Designated Officer for Allegations -> the Out of Hours Service "
        "(diversion 'MASH training morning')",
    )
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT service, from_destination, to_destination, release_digest, changed_by FROM routing_changes ORDER BY service"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("allegation-about-staff", "dofa", "out-of-hours", done.digest, "bob"),
        ("child-at-risk", "mash", "out-of-hours", done.digest, "bob"),
    ]


def test_rollback_goes_back_and_is_logged(folder: Path, publisher: Publisher) -> None:
    """Rolling back makes the earlier release live again, as a new entry naming who and why."""
    first = publisher.publish(folder, NOW, "alice", "first")
    divert(folder)
    second = publisher.publish(folder, NOW, "bob", "MASH training")
    back = publisher.rollback(first.digest[:6], NOW, "carol", "training cancelled")
    assert back.digest == first.digest and back.changed
    assert publisher.releases.live() == (3, first.digest)
    assert [(e.digest, e.action, e.by, e.message) for e in publisher.releases.history()] == [
        (first.digest, "rollback", "carol", "training cancelled"),
        (second.digest, "publish", "bob", "MASH training"),
        (first.digest, "publish", "alice", "first"),
    ]
    with pytest.raises(ReleaseError, match="no release 'ffff'"):
        publisher.rollback("ffff", NOW, "carol", "")


def test_each_time_a_release_went_live_and_what_was_live_before(folder: Path, publisher: Publisher) -> None:
    """made_live lists a release's entries newest first; live_before names the entry each one followed (none for the first)."""
    first = publisher.publish(folder, NOW, "alice", "first")
    divert(folder)
    second = publisher.publish(folder, NOW, "bob", "MASH training")
    publisher.rollback(first.digest, NOW, "carol", "training cancelled")
    releases = publisher.releases
    assert [(e.seq, e.action) for e in releases.made_live(first.digest)] == [(3, "rollback"), (1, "publish")]
    assert [e.seq for e in releases.made_live(second.digest)] == [2]
    assert releases.made_live(first.digest[:6]) == []  # the full digest only
    before = releases.live_before(3)
    assert before is not None and (before.seq, before.digest, before.by) == (2, second.digest, "bob")
    assert releases.live_before(1) is None


# -- the commands ----------------------------------------------------------------------------------


@pytest.fixture
def command_env(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IVR_CONFIG_DIR", str(folder))
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return folder


def test_diff_reads_as_an_administrator_would(command_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr diff` names each stretch whose routing changes, from whom to whom, and the diversion behind it."""
    assert main(["publish", "-m", "first", "--by", "alice"]) == 0
    divert(command_env)
    capsys.readouterr()
    assert main(["diff", "--days", "14"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Wed 2 Dec 09:00-12:00 wiltshire child-at-risk: the Multi-Agency Safeguarding Hub -> the Out of Hours Service "
        "(diversion 'MASH training morning')",
        "Wed 2 Dec 09:00-12:00 wiltshire allegation-about-staff: the Designated Officer for Allegations -> the Out of Hours "
        "Service (diversion 'MASH training morning')",
    ]


def test_publish_releases_and_rollback_commands(command_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The commands publish, list the history newest first with who and why, and roll back."""
    assert main(["publish", "-m", "first", "--by", "alice"]) == 0
    first = capsys.readouterr().out.split()[1].rstrip(":")
    divert(command_env)
    assert main(["publish", "-m", "MASH training", "--by", "bob"]) == 0
    assert capsys.readouterr().out.startswith("published ")
    assert main(["rollback", first, "--by", "carol", "-m", "cancelled"]) == 0
    assert capsys.readouterr().out.startswith(f"rolled back to {first}: ")
    assert main(["releases"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[2:5] for line in listed] == [
        [first, "rollback", "carol"],
        [listed[1].split()[2], "publish", "bob"],
        [first, "publish", "alice"],
    ]
    assert listed[0].endswith("<- live") and not listed[1].endswith("<- live")


def test_publish_refused_prints_file_and_line(command_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr publish` of a broken file exits 1 with one line per problem and publishes nothing."""
    (command_env / "schedules" / "hampshire.yaml").write_text("line: hampshire\nservices: [\n")
    assert main(["publish"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("schedules/hampshire.yaml:")
    assert main(["releases"]) == 0
    assert capsys.readouterr().out == "nothing has been published yet\n"


# -- booting and following -------------------------------------------------------------------------


def test_boot_prefers_the_live_release_over_the_working_files(folder: Path, publisher: Publisher) -> None:
    """With a release published, a new process serves it even though the working files now differ."""
    divert(folder)
    publisher.publish(folder, NOW, "alice", "training")
    (folder / "schedules" / "wiltshire.yaml").write_text(
        (folder / "schedules" / "wiltshire.yaml").read_text().replace(TRAINING, "overrides: []\n")
    )
    live = live_over(folder, publisher)
    assert live.source == "release"
    assert dialled_for(live, "2026-12-02T10:00") == "out-of-hours"


def test_boot_from_the_last_good_copy_when_the_database_is_gone(folder: Path, publisher: Publisher, tmp_path: Path) -> None:
    """With the database unreachable, a process boots from the release this machine last served."""
    divert(folder)
    publisher.publish(folder, NOW, "alice", "training")
    live_over(folder, publisher)  # serves it, leaving the last-good copy
    assert (publisher.cache / LIVE_POINTER).read_text().strip() == publisher.releases.live()[1]  # type: ignore[index]
    (folder / "schedules" / "wiltshire.yaml").write_text("line: wiltshire\nservices: [\n")  # and the files are broken
    unreachable = Publisher(CallStore("postgresql://ivr@127.0.0.1:1/none", instance_path=tmp_path), publisher.cache)
    live = live_over(folder, unreachable)
    assert live.source == "last-good copy"
    assert dialled_for(live, "2026-12-02T10:00") == "out-of-hours"


def test_boot_from_the_working_files_when_there_is_nothing_else(folder: Path, tmp_path: Path) -> None:
    """No database and no local copy: the valid working files are served."""
    unreachable = Publisher(CallStore("postgresql://ivr@127.0.0.1:1/none", instance_path=tmp_path), tmp_path / "releases")
    live = live_over(folder, unreachable)
    assert live.source == "working files"
    assert dialled_for(live, "2026-12-02T10:00") == "mash"


def test_boot_with_nothing_valid_keeps_each_good_line_for_static_answers(folder: Path, tmp_path: Path) -> None:
    """Invalid working files and nothing else: no snapshot, but each line that loads alone keeps its static answer."""
    (folder / "schedules" / "wiltshire.yaml").write_text("line: wiltshire\nservices: [\n")
    unreachable = Publisher(CallStore("postgresql://ivr@127.0.0.1:1/none", instance_path=tmp_path), tmp_path / "releases")
    live = live_over(folder, unreachable)
    assert live.current() is None and live.source == "nothing"
    assert sorted(live.static_lines) == ["hampshire", "isle-of-wight"]


def test_the_follower_swaps_in_a_new_release_and_notices_changed_files(folder: Path, publisher: Publisher) -> None:
    """refresh() adopts a newly published release, and says when the working files differ or are refused."""
    publisher.publish(folder, NOW, "alice", "first")
    live = live_over(folder, publisher)
    assert live.refresh() is False and live.working is not None and live.working.digest == live.digest
    divert(folder)
    live.refresh()
    assert live.working is not None and not live.working.refused and live.working.digest != live.digest
    publisher.publish(folder, NOW, "bob", "training")
    assert live.refresh() is True
    assert dialled_for(live, "2026-12-02T10:00") == "out-of-hours"
    (folder / "flows" / "hampshire.yaml").write_text("line: hampshire\n")
    os.utime(folder / "flows" / "hampshire.yaml", ns=(1, 1))  # a changed stat, whatever the clock's resolution
    live.refresh()
    assert live.working is not None and live.working.refused
    assert dialled_for(live, "2026-12-02T10:00") == "out-of-hours"


def test_with_nothing_live_each_line_gets_its_own_static_answer(folder: Path, settings: dict[str, object]) -> None:
    """Broken files and no release: a line that loads alone gets its 24/7 list; the broken line the 999 message, never another's numbers."""
    from ivr.app import create_app
    from tests.conftest import Twilio

    (folder / "schedules" / "wiltshire.yaml").write_text("line: wiltshire\nservices: [\n")
    app = create_app({**settings, "IVR_CONFIG_DIR": str(folder), "IVR_DEFAULT_LINE": "hampshire"})
    caller = Twilio(app.test_client())
    hampshire = caller.post("/voice/hampshire")
    assert hampshire.status == 200 and hampshire.dialled() == ["+443005551384", "+443005551373"]
    wiltshire = caller.post("/voice/wiltshire")
    assert wiltshire.status == 200 and wiltshire.dialled() == []
    assert wiltshire.says()[0] == "If a child is in immediate danger, hang up and call 999."
    health = app.test_client().get("/healthz").get_json()
    assert (health["ok"], health["release"], health["source"]) == (False, None, "nothing")


def test_a_second_process_loads_the_saved_snapshot_instead_of_compiling(
    folder: Path, publisher: Publisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first process on a machine compiles a release and saves it; the next one loads it without compiling."""
    import ivr.live

    divert(folder)
    publisher.publish(folder, NOW, "alice", "training")
    first = live_over(folder, publisher)
    assert sorted(p.name.split("-")[0] for p in publisher.cache.glob("*.snapshot")) == [first.digest]

    def no_compiling(*_: object, **__: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(ivr.live, "compile_folder", no_compiling)
    second = live_over(folder, publisher)
    assert second.source == "release" and second.digest == first.digest
    assert dialled_for(second, "2026-12-02T10:00") == "out-of-hours"


def test_a_damaged_saved_snapshot_is_compiled_again(folder: Path, publisher: Publisher) -> None:
    """A saved snapshot that cannot be read is never trusted: the release is compiled from its files."""
    divert(folder)
    publisher.publish(folder, NOW, "alice", "training")
    live_over(folder, publisher)
    (saved,) = publisher.cache.glob("*.snapshot")
    saved.write_bytes(b"not a pickle")
    again = live_over(folder, publisher)
    assert again.source == "release" and dialled_for(again, "2026-12-02T10:00") == "out-of-hours"


def test_a_release_that_removes_a_line_says_so(folder: Path, publisher: Publisher) -> None:
    """Publishing without a line's files names the line removed in the summary (calls to it are no longer routed)."""
    publisher.publish(folder, NOW, "alice", "first")
    for part in ("flows", "schedules"):
        (folder / part / "isle-of-wight.yaml").unlink()
    done = publisher.publish(folder, NOW, "bob", "the Isle of Wight moves to its own router")
    assert done.summary == "line isle-of-wight removed"


def test_healthz_says_when_the_working_files_differ(folder: Path, settings: dict[str, object]) -> None:
    """/healthz says 'same' for the files live, 'differ' once a valid edit is on disk, and names no problem."""
    from ivr.app import create_app
    from ivr.services import services_of

    app = create_app({**settings, "IVR_CONFIG_DIR": str(folder)})
    live = services_of(app).live
    live.refresh()
    assert app.test_client().get("/healthz").get_json()["working_files"] == "same"
    divert(folder)
    live.refresh()
    health = app.test_client().get("/healthz").get_json()
    assert (health["working_files"], health["refused_problems"], health["release"]) == ("differ", 0, live.digest)
