"""The spool reads regular files only, never through a symbolic link: whoever may write
the spool (another account, by a shared group) once linked a name to a file only lalert
may read — here the desk's session key — and lalert journaled its bytes, which the desk
and the raw API then show. A link is left unread and named in ``/healthz``; a regular
file beside it is journaled as before."""

from __future__ import annotations

from tests.daemon_helpers import cap, start_daemon


def test_spool_does_not_follow_symbolic_links(tmp_path):
    with start_daemon(tmp_path / "home") as d:
        incoming = d.home / "spool" / "incoming"
        secret = d.home / "keys" / "desk-session.key"
        assert secret.is_file()
        (incoming / "stolen.xml").symlink_to(secret)
        outside = tmp_path / "elsewhere.xml"
        outside.write_bytes(cap("harden-spool-linked"))
        (incoming / "linked.xml").symlink_to(outside)
        (incoming / "plain.xml").write_bytes(cap("harden-spool-plain"))
        done = d.home / "spool" / "done"
        d.wait(lambda: list(done.glob("*plain.xml")), timeout=20, what="the plain file")
        d.wait(lambda: "symbolic links" in (d.health()["spool"]["last_error"] or ""),
               timeout=20, what="the links named in /healthz")
        senders = {i["sender"] for i in d.get_json("/api/v1/history")[1]["items"]}
        assert "plain.xml" in senders
        assert not senders & {"stolen.xml", "linked.xml"}
        assert (incoming / "stolen.xml").is_symlink()  # left where it is
        assert "linked.xml" in d.health()["spool"]["last_error"]
