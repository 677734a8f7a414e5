"""moto's dispatch answers from memory what it recomputed per request, with the same answers (issue 17)."""

from __future__ import annotations

import os

import moto
import moto.backends
import moto.core.responses

from ecrlab.emulator import moto_compat
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
    moto_compat.install_dispatch_caches()  # idempotent

    class Response:
        def describe_things(self) -> None: ...

    names = moto.core.responses.method_names_from_class
    assert "describe_things" in names(Response) and "list_things" not in names(Response)
    Response.list_things = lambda self: None  # as ecrlab's install() attaches an operation
    assert {"describe_things", "list_things"} <= set(names(Response))


def test_a_new_accounts_backends_know_botocores_regions_without_working_them_out_again(monkeypatch):
    import boto3

    install()
    session = boto3.Session()  # botocore's own answer, read here and not through the emulator
    expected = {r for p in session.get_available_partitions() for r in session.get_available_regions("ecr", p)}
    moto_compat.ecr_backends["111122223333"]  # an account the process has not used yet
    asked = []
    monkeypatch.setattr(boto3.Session, "get_available_regions", lambda *a, **k: asked.append(a) or [])
    backend_regions = set(moto_compat.ecr_backends["444433332222"].regions)
    assert backend_regions == expected and "us-east-1" in backend_regions
    assert asked == []  # moto asked botocore for every new account's backend (2 ms each)


def test_errors_name_their_service_from_botocores_list():
    from moto.core.utils import service_name_from_moto_package_name

    install()
    # moto's package names drop the hyphens of botocore's service names ("ecr-public" lives in moto/ecrpublic).
    assert service_name_from_moto_package_name("ecrpublic") == "ecr-public"
    assert service_name_from_moto_package_name("ecr") == "ecr"
    assert moto.core.utils.create_loader() is moto.core.utils.create_loader()  # one loader: each file read once
