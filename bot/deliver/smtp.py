"""E-mail: one message per recipient, sent over `connections` SMTP connections per batch.

Header values are stripped of CR, LF and other control characters before they reach the
message (Python 3.11's email package lets them through: CVE-2024-6923). Message-IDs derive
from the delivery's idempotency key, so a message resent after a crash can be recognised.

International addresses (RFC 6531): the domain goes in IDNA form; a non-ASCII local part
needs a server that offers SMTPUTF8, and such a message is built with a UTF-8 header policy.
A server without SMTPUTF8 makes that one message dead, with the reason; the others go.

Every failure while sending one message is that message's Outcome (errors start with
`smtp HOST:PORT:`), and the batch goes on: a 4xx is Retry, a 5xx Dead, a dropped or refused
connection Retry (SMTP accepts a message only with the 250 after its data), and anything
unexpected once the transaction began Unknown.

A send can be stopped from another thread (Ctrl-C, SIGTERM: `Stop`): messages not yet begun
get no outcome (the caller gives them back to the outbox), the connections in use are shut,
and a message whose transaction had begun is Unknown (it may have arrived).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import secrets
import smtplib
import socket
import ssl
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email import policy as policies
from email.charset import QP, Charset
from email.generator import BytesGenerator, Generator
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Policy, compat32
from email.utils import format_datetime, formataddr, parseaddr

from email_validator import EmailNotValidError, validate_email

from bot.config import SmtpConfig
from bot.errors import ConfigError
from bot.models import Dead, Delivery, DeliveryResult, Outcome, Rendered, Retry, Sent, Unknown

# 998: RFC 5322's line limit, so a long List-Unsubscribe is never folded into pieces.
# The compat32 MIME classes rather than EmailMessage: the modern API parses every header it
# is given (about 2 ms a message here, two thirds of the cost of a send), and everything we
# set is already cleaned and encoded below. Only a message to a non-ASCII address pays that,
# with the SMTPUTF8 policy (raw UTF-8 headers), which compat32 cannot write.
POLICY = compat32.clone(max_line_length=998)
UTF8_POLICY = policies.SMTPUTF8.clone(max_line_length=998)
TIMEOUT = 30.0
# Quoted-printable, not the base64 Python picks for UTF-8: digests are mostly ASCII, so QP
# is a third smaller, stays readable in a raw view, and is still 7-bit safe for any relay.
_QP = Charset("utf-8")
_QP.body_encoding = QP
# Fixed, so the generator need not search the parts for a line that could end them: the
# parts are quoted-printable, where a "=" is always encoded, so no line of theirs is "--=_…".
BOUNDARY = "=_reportbot_alternative_" + secrets.token_hex(8)


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go: its envelope and the message."""

    delivery_id: int
    sender: str  # envelope addresses: IDNA domains, local parts as given
    recipient: str
    message: Message
    utf8: bool  # needs SMTPUTF8 (a non-ASCII local part)
    problem: str = ""  # why it cannot be sent at all (an address that is not one)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class BodyPart(MIMEText):
    """A text or HTML alternative, written out once when made: a part never changes, so
    one is shared by every recipient of a digest, and writing it line by line for each
    message was most of the CPU of a send."""

    def __init__(self, body: str, subtype: str) -> None:
        super().__init__(body, subtype, _QP, policy=POLICY)  # type: ignore[arg-type]
        buffer = io.StringIO()
        Generator(buffer, mangle_from_=False, policy=POLICY).flatten(self, linesep="\r\n")
        self.written = buffer.getvalue()  # quoted-printable: ASCII whatever the text


def body_parts(text: Rendered, html: Rendered) -> tuple[BodyPart, BodyPart]:
    """The text and HTML alternatives, shareable by every recipient of the same digest."""
    return BodyPart(text.body, "plain"), BodyPart(html.body, "html")


class _Writer(BytesGenerator):
    """Writes a BodyPart from what it wrote when the part was made."""

    def flatten(self, msg: Message, unixfrom: bool = False, linesep: str | None = None) -> None:
        if isinstance(msg, BodyPart) and linesep == "\r\n":
            self.write(msg.written)
            return
        super().flatten(msg, unixfrom, linesep)


def envelope_address(address: str) -> tuple[str, bool]:
    """(the address as SMTP sends it, whether that needs SMTPUTF8): the domain in IDNA form,
    the local part as it is. ConfigError for an address that is not one."""
    address = clean_header(address)
    if address.isascii():
        return address, False
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ConfigError(f"{address!r} is not a valid e-mail address: {exc}") from exc
    if checked.ascii_email:
        return checked.ascii_email, False
    return f"{checked.local_part}@{checked.ascii_domain}", True


def build(
    delivery: Delivery,
    *,
    subject: str,
    parts: tuple[BodyPart, BodyPart],
    cfg: SmtpConfig,
    one_click: str = "",
) -> Outgoing:
    """The message for one delivery: multipart/alternative, text first, HTML second.
    `one_click`: the https unsubscribe link (RFC 8058), when the endpoint is served; without
    it there is no List-Unsubscribe at all (a mailto: to our own From reaches no one)."""
    return _build(
        delivery.id,
        delivery.recipient,
        key=delivery.key,
        subject=subject,
        parts=parts,
        cfg=cfg,
        date=delivery.period_end,
        list_id=delivery.subscription,
        one_click=one_click,
    )


def build_notice(
    mail_id: int,
    recipient: str,
    *,
    key: str,
    subject: str,
    parts: tuple[BodyPart, BodyPart],
    cfg: SmtpConfig,
    date: datetime,
) -> Outgoing:
    """A message of its own to one person (a sign-up's confirmation), not a digest: no
    List-Id nor List-Unsubscribe, as it belongs to no list yet. `key`: its idempotency key
    (the Message-ID derives from it)."""
    return _build(mail_id, recipient, key=key, subject=subject, parts=parts, cfg=cfg, date=date)


def _build(
    message_ref: int,
    to: str,
    *,
    key: str,
    subject: str,
    parts: tuple[BodyPart, BodyPart],
    cfg: SmtpConfig,
    date: datetime,
    list_id: str = "",
    one_click: str = "",
) -> Outgoing:
    try:
        sender_name, sender, sender_utf8 = _sender(cfg.from_)
        recipient, recipient_utf8 = envelope_address(to)
    except ConfigError as exc:
        return Outgoing(message_ref, "", to, Message(), False, str(exc))
    utf8 = sender_utf8 or recipient_utf8
    domain = sender.rpartition("@")[2] or "reportbot.invalid"
    policy = UTF8_POLICY if utf8 else POLICY
    msg = MIMEMultipart("alternative", boundary=BOUNDARY, policy=policy)
    if utf8:  # formataddr refuses a non-ASCII address; the UTF-8 policy writes it as is
        msg["From"] = str(Address(display_name=sender_name, addr_spec=sender))
    else:
        msg["From"] = formataddr((sender_name, sender), charset="utf-8")
    msg["To"] = recipient
    msg["Subject"] = _encoded(clean_header(subject), "Subject")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    if list_id:
        msg["List-Id"] = f"<{clean_header(list_id)}.{domain}>"
    if one_click:
        msg["List-Unsubscribe"] = f"<{clean_header(one_click)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if cfg.reply_to:
        msg["Reply-To"] = formataddr(parseaddr(clean_header(cfg.reply_to)), charset="utf-8")
    msg["Auto-Submitted"] = "auto-generated"
    msg.attach(parts[0])
    msg.attach(parts[1])
    return Outgoing(message_ref, sender, recipient, msg, utf8)


@functools.lru_cache(maxsize=4)
def _sender(from_: str) -> tuple[str, str, bool]:
    """(display name, envelope address, needs SMTPUTF8) of the configured From, read once."""
    name, address = parseaddr(clean_header(from_))
    return (name, *envelope_address(address))


def _encoded(value: str, name: str) -> str:
    """RFC 2047 encoded words for a non-ASCII value; ASCII stays readable as it is."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def clean_header(value: str) -> str:
    """The value without CR, LF or other control characters (no header injection)."""
    if value.isprintable():  # no control character (nor any other unprintable one)
        return value.strip()
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in value).strip()


class Stop:
    """Ends a send early, from any thread: no message is begun after `set`, and the
    connections in use are shut so that a lane waiting on a silent server returns now."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._clients: set[smtplib.SMTP] = set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()
        self.shut()

    def shut(self) -> None:
        """Shut every connection in use (again: one may have connected since)."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            sock = getattr(client, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

    def track(self, client: smtplib.SMTP) -> None:
        with self._lock:
            self._clients.add(client)
        if self.is_set():
            self.shut()

    def forget(self, client: smtplib.SMTP) -> None:
        with self._lock:
            self._clients.discard(client)


def send(
    messages: Sequence[Outgoing],
    cfg: SmtpConfig,
    on_result: Callable[[DeliveryResult], None] | None = None,
    stop: Stop | None = None,
) -> list[DeliveryResult]:
    """Send each message over `cfg.connections` connections at once (each message waits
    for the server's answer, so a second connection keeps the link busy). `on_result` hears
    of each message as soon as the server answered (from the sending thread). Never raises
    for one message's trouble: see the module's docstring. After `stop`, the messages not
    begun have no result."""
    stop = stop or Stop()
    lanes = max(1, min(cfg.connections, len(messages)))
    if lanes == 1:
        return _Lane(cfg, on_result, stop).send_all(messages)
    chunks = [messages[n::lanes] for n in range(lanes)]
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
        done = pool.map(lambda chunk: _Lane(cfg, on_result, stop).send_all(chunk), chunks)
        return [result for chunk in done for result in chunk]


class _Lane:
    """One connection, for its share of the batch; a dropped connection is reopened."""

    def __init__(
        self,
        cfg: SmtpConfig,
        on_result: Callable[[DeliveryResult], None] | None,
        stop: Stop,
    ) -> None:
        self.cfg, self.on_result, self.stop = cfg, on_result, stop
        self.where = f"smtp {cfg.host}:{cfg.port}"
        self.client: smtplib.SMTP | None = None
        # Once the server could not be reached, the lane's other messages wait for the next
        # batch instead of each waiting out its own connect timeout (1,000 messages behind
        # a silent server would hold the worker, and its leases, for hours).
        self.down: Retry | None = None

    def send_all(self, messages: Sequence[Outgoing]) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        try:
            for out in messages:
                if self.stop.is_set():
                    break
                outcome = self._send(out)
                if outcome is None:  # stopped before it began
                    break
                results.append(DeliveryResult(out.delivery_id, outcome))
                if self.on_result is not None:
                    self.on_result(results[-1])
        finally:
            self._close()
        return results

    def _send(self, out: Outgoing) -> Outcome | None:
        if out.problem:
            return Dead(f"{self.where}: {out.problem}")
        if self.down is not None:
            return self.down
        try:
            client = self.client = self.client or connect(self.cfg, self.stop)
        except Exception as exc:  # nothing of this message left
            self._close()
            if self.stop.is_set():  # the stop shut the connection: it waits for next time
                return None
            self.down = _unreachable(self.where, exc)
            return self.down
        if out.utf8 and not client.has_extn("smtputf8"):
            return Dead(
                f"{self.where}: the server does not offer SMTPUTF8, which the non-ASCII "
                f"address {out.recipient} needs: use a relay that does, or an ASCII address"
            )
        try:
            data = _flatten(out.message, UTF8_POLICY if out.utf8 else POLICY)
        except Exception as exc:  # nothing of this message left
            return Retry(f"{self.where}: cannot write the message: {describe(exc)}")
        options = ("SMTPUTF8", "BODY=8BITMIME") if out.utf8 else ()
        if self.stop.is_set():
            return None
        try:
            client.sendmail(out.sender, [out.recipient], data, options)
        except Exception as exc:
            if not self.stop.is_set():
                return self._failed(exc)
            self._close()  # shut by the stop mid-transaction: the data may have gone
            return Unknown(f"{self.where}: interrupted mid-send, it may have arrived")
        return Sent(out.message_id)

    def _failed(self, exc: Exception) -> Outcome:
        """The outcome of a transaction the server ended or that broke."""
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, text = next(iter(exc.recipients.values()))
            return self._refused(code, text)
        if isinstance(exc, smtplib.SMTPResponseException):
            if isinstance(exc, smtplib.SMTPSenderRefused) or exc.smtp_code == 421:
                self._close()
            return self._refused(exc.smtp_code, exc.smtp_error)
        self._close()
        if isinstance(exc, smtplib.SMTPException | OSError):
            # no 250 after the data: the server did not take it
            return Retry(f"{self.where}: {describe(exc)}")
        return Unknown(f"{self.where}: {describe(exc)}")  # unexpected, mid-transaction

    def _refused(self, code: int, text: bytes | str) -> Outcome:
        error = f"{self.where}: {code} {_text(text)}"
        # 4xx: try again later; 5xx: the server refuses for good
        return Retry(error) if 400 <= code < 500 else Dead(error)

    def _close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            self.stop.forget(client)
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _unreachable(where: str, exc: Exception) -> Retry:
    """Why a lane could not connect or log in (its messages wait for the next batch)."""
    if isinstance(exc, ConfigError):  # checked before claiming; a file changed since?
        return Retry(f"{where}: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):  # a refused greeting or login
        return Retry(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}")
    return Retry(f"{where}: {describe(exc)}")


def connect(cfg: SmtpConfig, stop: Stop | None = None) -> smtplib.SMTP:
    """A connection, logged in; `stop` can shut it from another thread while it waits."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if cfg.security == "ssl":
        client = smtplib.SMTP_SSL(timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(timeout=TIMEOUT)
    if stop is not None:
        stop.track(client)
    try:
        client.connect(cfg.host, cfg.port)
        if cfg.security == "starttls":
            client.starttls(context=context)  # raises if the server cannot: no downgrade
        if cfg.user:
            client.login(cfg.user, cfg.password())
        client.ehlo_or_helo_if_needed()  # so has_extn() knows what the server offers
    except BaseException:
        if stop is not None:
            stop.forget(client)
        client.close()
        raise
    return client


def describe(exc: BaseException) -> str:
    """A failure in the operator's words: "connection refused", not the errno."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):  # smtplib wraps timeouts
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return f"{type(exc).__name__}: {exc}"


def _flatten(msg: Message, policy: Policy) -> bytes:
    buffer = io.BytesIO()
    _Writer(buffer, mangle_from_=False, policy=policy).flatten(msg, linesep="\r\n")
    return buffer.getvalue()


def _text(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
