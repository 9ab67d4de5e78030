"""The webhook sender's rules that need no server: the SSRF guard (no network: literal
addresses only), the retry schedule, Retry-After, and the Standard Webhooks headers."""

from __future__ import annotations

import ipaddress

import pytest
from multidict import CIMultiDict
from standardwebhooks.webhooks import Webhook

from galactic_goofs.notifications import service, ssrf
from galactic_goofs.notifications.dispatch import parse_schedule, retry_after, signed_headers


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.8.9.10:8080/hook",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://100.64.0.1/",
    ],
)
async def test_private_and_special_addresses_are_refused(url: str) -> None:
    with pytest.raises(ssrf.RefusedUrl, match="private networks"):
        await ssrf.check(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/", "//nohost", "http://"],
)
async def test_only_http_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(ssrf.RefusedUrl):
        await ssrf.check(url, allow_private=True)


async def test_public_addresses_pass_and_allowing_private_lifts_the_rule() -> None:
    await ssrf.check("https://93.184.216.34/hook", allow_private=False)
    await ssrf.check("http://[2606:4700::1111]/", allow_private=False)
    await ssrf.check("http://127.0.0.1:9/", allow_private=True)


def test_one_private_address_among_the_answers_refuses_the_host() -> None:
    addresses = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.1.2.3")]
    with pytest.raises(ssrf.RefusedUrl, match=r"10\.1\.2\.3 is a private address"):
        ssrf.check_addresses("rebind.example", addresses)


def test_the_default_retry_schedule_reads_as_seconds() -> None:
    assert parse_schedule("5s,5m,30m,2h,5h,10h,10h") == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert parse_schedule("50ms, 1") == [0.05, 1.0]
    for bad in ("5x", "fast", "-1s"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


def test_retry_after_takes_seconds_or_a_date_and_is_capped() -> None:
    def answer(value: str) -> CIMultiDict[str]:
        return CIMultiDict({"Retry-After": value})

    assert retry_after(answer("7")) == 7
    assert retry_after(answer("9999999")) == 24 * 3600
    assert retry_after(answer("Wed, 21 Oct 2015 07:28:00 GMT")) == 0
    assert retry_after(answer("soon")) is None
    assert retry_after(CIMultiDict()) is None


def test_headers_verify_with_the_standard_webhooks_package_for_every_secret() -> None:
    old, new = service.new_secret(), service.new_secret()
    body = service.body("webhook.test", service.utcnow(), {"message": "hi"})
    headers = signed_headers("msg_1", body, [new, old])
    assert headers["webhook-id"] == "msg_1"
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["data"] == {"message": "hi"}
