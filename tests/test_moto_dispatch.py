"""moto's dispatch answers from memory what it recomputed per request, with the same answers (issue 17)."""

from __future__ import annotations

import os

import moto
import moto.backends
import moto.core.responses

from ecrlab.emulator import moto_dispatch
from ecrlab.emulator.extension import install


def test_moto_modules_are_moto_package_folders_listed_once(monkeypatch):
    install()
    folder = os.path.dirname(moto.__file__)
    on_disk = {n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)) and not n.startswith("__")}
    assert set(moto.backends.list_of_moto_modules()) == on_disk and "ecr" in on_disk
    monkeypatch.setattr(os, "listdir", lambda *a: (_ for _ in ()).throw(AssertionError("listed again")))
    assert "ecr" in moto.backends.list_of_moto_modules()


def test_method_names_follow_methods_attached_later():
    install()
    moto_dispatch.install()  # idempotent

    class Response:
        def describe_things(self) -> None: ...

    names = moto.core.responses.method_names_from_class
    assert "describe_things" in names(Response) and "list_things" not in names(Response)
    Response.list_things = lambda self: None  # as ecrlab's install() attaches an operation
    assert {"describe_things", "list_things"} <= set(names(Response))
