"""Bounces built the way receivers and mail servers write them, for the tests (nothing checked in).

- ``smtp_reply(text)``: a one-line example as the multi-line SMTP reply a receiver sends ("550-5.7.26 ..."
  continuation lines, "550 5.7.26 ..." last);
- ``postfix_dsn`` (RFC 3464, Postfix's form), ``google_dsn`` (Gmail's DSN: multipart/alternative text and
  HTML, delivery-status, the message), ``microsoft_ndr`` (Exchange Online: "Diagnostic information for
  administrators", delivery-status, the returned message), ``qmail_bounce`` / ``exim_bounce`` /
  ``old_gmail_bounce`` (non-standard: one text part, the message after a separator line),
  ``localized_ndr`` (the human text in another language);
- ``returned_headers(...)``: the header block of the message that bounced (From, DKIM-Signature...).
"""

from __future__ import annotations

import re
import textwrap

DOMAIN = "shop.example"
SENDER = f"news@{DOMAIN}"
IP = "192.0.2.55"

PLACES = {  # provider -> (recipient, remote MTA)
    "google": ("alice@gmail.com", "gmail-smtp-in.l.google.com"),
    "microsoft": ("bob@outlook.com", "outlook-com.olc.protection.outlook.com"),
    "yahoo": ("carol@yahoo.com", "mta7.am0.yahoodns.net"),
    "any": ("dave@receiver.example", "mx.receiver.example"),
    "mimecast": ("erin@corp.example", "us-smtp-inbound-1.mimecast.com"),
    "proofpoint": ("frank@corp.example", "mx0a-00123401.pphosted.com"),
    "apple": ("gina@icloud.com", "mx01.mail.icloud.com"),
}

_HEAD = re.compile(r"^([245]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3})?\s*")
_ENH = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)")


def fill(example: str, *, domain: str = DOMAIN, ip: str = IP, recipient: str = "dave@receiver.example",
         sender: str = SENDER) -> str:
    return (example.replace("{domain}", domain).replace("{ip}", ip).replace("{recipient}", recipient)
            .replace("{recipient_domain}", recipient.rsplit("@", 1)[-1]).replace("{sender}", sender))


def codes(text: str) -> tuple[str, str]:
    """(reply code, enhanced code) at the start of an example (either may be "")."""
    m = _HEAD.match(text)
    if m:
        return m.group(1), m.group(2) or ""
    e = _ENH.search(text)
    return "", e.group(1) if e else ""


def smtp_reply(text: str, width: int = 60) -> str:
    """The example as a multi-line SMTP reply (continuation lines "550-5.7.26 ", the last "550 5.7.26 ")."""
    reply, enh = codes(text)
    m = _HEAD.match(text)
    if not m:
        return text
    body = text[m.end():]
    lines = textwrap.wrap(body, width) or [""]
    prefix = f"{reply}-{enh} " if enh else f"{reply}-"
    last = f"{reply} {enh} " if enh else f"{reply} "
    return "\n".join((prefix if i < len(lines) - 1 else last) + ln for i, ln in enumerate(lines))


def returned_headers(*, domain: str = DOMAIN, selector: str | None = "s1", to: str = "dave@receiver.example",
                     extra: str = "", from_addr: str | None = None) -> str:
    sig = (f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector};\r\n"
           "\th=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
           "\tb=dGVzdA==\r\n") if selector else ""
    return (f"Received: from laptop (unknown [10.0.0.5]) by mail.{domain} (Postfix) with ESMTPSA id 4AB1;\r\n"
            "\tMon, 7 Dec 2026 10:00:00 +0000\r\n"
            + sig + extra +
            f"From: Shop <{from_addr or 'news@' + domain}>\r\nTo: {to}\r\nSubject: Spring sale\r\n"
            f"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@{domain}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def postfix_dsn(diagnostic: str, *, recipient: str, remote_mta: str, status: str | None = None,
                action: str = "failed", returned: str | None = "headers", headers: str | None = None,
                text: str | None = None, domain: str = DOMAIN, sender: str = SENDER) -> bytes:
    """An RFC 3464 DSN as Postfix writes it; ``returned``: "headers" (text/rfc822-headers), "message"
    (message/rfc822) or None (nothing returned)."""
    reply, enh = codes(diagnostic)
    status = status or enh or (f"{reply[0]}.0.0" if reply else "5.0.0")
    multi = smtp_reply(diagnostic)
    human = text if text is not None else (
        f"This is the mail system at host mail.{domain}.\n\nI'm sorry to have to inform you that your message "
        "could not\nbe delivered to one or more recipients. It's attached below.\n\n"
        f"                   The mail system\n\n<{recipient}>: host {remote_mta}[198.51.100.20] said:\n"
        + textwrap.indent(multi, "    ") + "\n    (in reply to end of DATA command)\n")
    diag_field = "\n    ".join(multi.split("\n"))
    parts = [
        "--BOUNDARY\nContent-Description: Notification\nContent-Type: text/plain; charset=utf-8\n\n" + human,
        "--BOUNDARY\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mail.{domain}\nX-Postfix-Queue-ID: 4AB1\nX-Postfix-Sender: rfc822; {sender}\n"
        "Arrival-Date: Mon,  7 Dec 2026 10:00:00 +0000 (UTC)\n\n"
        f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\nAction: {action}\n"
        f"Status: {status}\nRemote-MTA: dns; {remote_mta}\nDiagnostic-Code: smtp; {diag_field}\n",
    ]
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient)
    if returned == "headers":
        parts.append("--BOUNDARY\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
                     + hb.replace("\r\n", "\n"))
    elif returned == "message":
        parts.append("--BOUNDARY\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n\n"
                     + hb.replace("\r\n", "\n") + "\nHello, here is our spring sale.\n")
    msg = (f"Return-Path: <>\nFrom: MAILER-DAEMON@mail.{domain} (Mail Delivery System)\nTo: {sender}\n"
           "Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
           'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="BOUNDARY"\n\n'
           "This is a MIME-encapsulated message.\n\n" + "\n".join(parts) + "\n--BOUNDARY--\n")
    return _crlf(msg).encode("utf-8")


def google_dsn(diagnostic: str, *, recipient: str, remote_mta: str = "mx.receiver.example", headers: str | None = None,
               domain: str = DOMAIN, sender: str = SENDER) -> bytes:
    """Gmail's own DSN when a Gmail / Workspace user's message is refused elsewhere."""
    reply, enh = codes(diagnostic)
    plain = (f"** Message not delivered **\n\nThere was a problem delivering your message to {recipient}. See the "
             f"technical details below.\n\nThe response from the remote server was:\n{smtp_reply(diagnostic)}\n")
    htmlpart = (f"<html><body><h2>Message not delivered</h2><p>There was a problem delivering your message to "
                f"<b>{recipient}</b>.</p><p>The response was:</p><p style=\"font-family:monospace\">"
                f"{diagnostic}</p></body></html>")
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient)
    msg = (f"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: {sender}\n"
           "Subject: Delivery Status Notification (Failure)\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
           'Content-Type: multipart/report; boundary="OUTER"; report-type=delivery-status\n\n'
           '--OUTER\nContent-Type: multipart/related; boundary="REL"\n\n'
           '--REL\nContent-Type: multipart/alternative; boundary="ALT"\n\n'
           f"--ALT\nContent-Type: text/plain; charset=UTF-8\n\n{plain}\n"
           f"--ALT\nContent-Type: text/html; charset=UTF-8\n\n{htmlpart}\n--ALT--\n--REL--\n"
           "--OUTER\nContent-Type: message/delivery-status\n\n"
           f"Reporting-MTA: dns; googlemail.com\nArrival-Date: Mon, 07 Dec 2026 02:00:00 -0800 (PST)\n\n"
           f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {enh or '5.0.0'}\n"
           f"Remote-MTA: dns; {remote_mta}. (198.51.100.20, the server for the domain {recipient.split('@')[1]}.)\n"
           f"Diagnostic-Code: smtp; {diagnostic}\nLast-Attempt-Date: Mon, 07 Dec 2026 02:00:01 -0800 (PST)\n\n"
           "--OUTER\nContent-Type: message/rfc822\n\n" + hb.replace("\r\n", "\n") + "\nHello!\n--OUTER--\n")
    return _crlf(msg).encode("utf-8")


def microsoft_ndr(diagnostic: str, *, recipient: str, remote_mta: str = "mx.receiver.example",
                  headers: str | None = None, domain: str = DOMAIN, sender: str = SENDER,
                  auth_results: str | None = None) -> bytes:
    """An Exchange Online NDR (multipart/report) with the diagnostic information for administrators."""
    reply, enh = codes(diagnostic)
    plain = (f"Your message to {recipient} couldn't be delivered.\n\n{recipient.split('@')[1]} suspects your "
             "message is spam and rejected it.\n\nDiagnostic information for administrators:\n\n"
             f"Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com\n{recipient}\n"
             f"Remote server returned '{diagnostic}'\n\nOriginal message headers:\n\n")
    extra = ""
    if auth_results:
        extra = f"Authentication-Results: {auth_results}\r\n"
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient, extra=extra)
    msg = (f"From: Microsoft Outbound Spam Protection <postmaster@{domain}>\nTo: {sender}\n"
           f"Subject: Undeliverable: Spring sale\nMIME-Version: 1.0\n"
           'Content-Type: multipart/report; report-type=delivery-status; boundary="NDR"\n\n'
           '--NDR\nContent-Type: multipart/alternative; differences=Content-Type; boundary="ALT"\n\n'
           f"--ALT\nContent-Type: text/plain; charset=us-ascii\n\n{plain}\n"
           f"--ALT\nContent-Type: text/html; charset=us-ascii\n\n<html><body><p>Your message couldn't be delivered."
           f"</p><p>Remote server returned '{diagnostic}'</p></body></html>\n--ALT--\n"
           "--NDR\nContent-Type: message/delivery-status\n\n"
           "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com\nReceived-From-MTA: dns;laptop\n\n"
           f"Final-Recipient: rfc822;{recipient}\nAction: failed\nStatus: {enh or '5.0.0'}\n"
           f"Diagnostic-Code: smtp;{diagnostic}\nRemote-MTA: dns;{remote_mta}\n\n"
           "--NDR\nContent-Type: message/rfc822\n\n" + hb.replace("\r\n", "\n") + "\nHello!\n--NDR--\n")
    return _crlf(msg).encode("utf-8")


def qmail_bounce(diagnostic: str, *, recipient: str, headers: str | None = None, domain: str = DOMAIN,
                 sender: str = SENDER) -> bytes:
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient)
    msg = (f"From: MAILER-DAEMON@mail.{domain}\nTo: {sender}\nSubject: failure notice\n\n"
           f"Hi. This is the qmail-send program at mail.{domain}.\nI'm afraid I wasn't able to deliver your "
           "message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work "
           f"out.\n\n<{recipient}>:\n198.51.100.20 failed after I sent the message.\nRemote host said: "
           f"{smtp_reply(diagnostic)}\n\n--- Below this line is a copy of the message.\n\n"
           + hb.replace("\r\n", "\n") + "\nHello!\n")
    return _crlf(msg).encode("utf-8")


def exim_bounce(diagnostic: str, *, recipient: str, headers: str | None = None, domain: str = DOMAIN,
                sender: str = SENDER) -> bytes:
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient)
    msg = (f"From: Mail Delivery System <Mailer-Daemon@mail.{domain}>\nTo: {sender}\n"
           f"Subject: Mail delivery failed: returning message to sender\nX-Failed-Recipients: {recipient}\n"
           "Auto-Submitted: auto-replied\n\n"
           "This message was created automatically by mail delivery software.\n\n"
           "A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent "
           f"error. The following address(es) failed:\n\n  {recipient}\n    host mx.receiver.example [198.51.100.20]\n"
           f"    SMTP error from remote mail server after end of data:\n"
           + textwrap.indent(smtp_reply(diagnostic), "    ") + "\n\n"
           "------ This is a copy of the message, including all the headers. ------\n\n"
           + hb.replace("\r\n", "\n") + "\nHello!\n")
    return _crlf(msg).encode("utf-8")


def old_gmail_bounce(diagnostic: str, *, recipient: str, headers: str | None = None, domain: str = DOMAIN,
                     sender: str = SENDER) -> bytes:
    """Gmail's older non-standard bounce (one text part, "----- Original message -----")."""
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient)
    msg = (f"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: {sender}\n"
           "Subject: Delivery Status Notification (Failure)\nContent-Type: text/plain; charset=ISO-8859-1\n\n"
           f"Delivery to the following recipient failed permanently:\n\n     {recipient}\n\n"
           "Technical details of permanent failure:\nGoogle tried to deliver your message, but it was rejected by "
           f"the server for the recipient domain {recipient.split('@')[1]} by mx.receiver.example. [198.51.100.20].\n\n"
           f"The error that the other server returned was:\n{smtp_reply(diagnostic)}\n\n"
           "----- Original message -----\n\n" + hb.replace("\r\n", "\n") + "\nHello!\n")
    return _crlf(msg).encode("utf-8")


# The human text of an NDR in other languages (what Exchange and others write; the codes stay as they are).
LOCALIZED = {
    "de": ("Unzustellbar: Spring sale", "utf-8",
           "Ihre Nachricht an {rcpt} konnte nicht zugestellt werden.\n\nDiagnoseinformationen für Administratoren:\n\n"
           "Generierender Server: AM0PR01MB1234.eurprd01.prod.outlook.com\n{rcpt}\n"
           "Der Remoteserver hat '{diag}' zurückgegeben.\n\nUrsprüngliche Nachrichtenkopfzeilen:\n\n"),
    "fr": ("Non remis : Spring sale", "iso-8859-1",
           "Votre message à {rcpt} n'a pas pu être remis.\n\nInformations de diagnostic pour les administrateurs :\n\n"
           "Serveur de génération : AM0PR01MB1234.eurprd01.prod.outlook.com\n{rcpt}\n"
           "Le serveur distant a retourné '{diag}'\n\nEn-têtes de message d'origine :\n\n"),
    "es": ("No se puede entregar: Spring sale", "utf-8",
           "No se pudo entregar el mensaje a {rcpt}.\n\nInformación de diagnóstico para administradores:\n\n"
           "Servidor de generación: AM0PR01MB1234.eurprd01.prod.outlook.com\n{rcpt}\n"
           "El servidor remoto devolvió '{diag}'\n\nEncabezados del mensaje original:\n\n"),
    "pt": ("Não é possível entregar: Spring sale", "utf-8",
           "Sua mensagem para {rcpt} não pôde ser entregue.\n\nInformações de diagnóstico para administradores:\n\n"
           "Gerando servidor: AM0PR01MB1234.eurprd01.prod.outlook.com\n{rcpt}\n"
           "O servidor remoto retornou '{diag}'\n\nCabeçalhos da mensagem original:\n\n"),
    "ja": ("配信不能: Spring sale", "iso-2022-jp",
           "{rcpt} 宛てのメッセージを配信できませんでした。\n\n管理者向けの診断情報:\n\n"
           "生成サーバー: AM0PR01MB1234.eurprd01.prod.outlook.com\n{rcpt}\n"
           "リモート サーバーから '{diag}' が返されました\n\n元のメッセージ ヘッダー:\n\n"),
}


def localized_ndr(lang: str, diagnostic: str, *, recipient: str, headers: str | None = None,
                  domain: str = DOMAIN, sender: str = SENDER, multipart: bool = False) -> bytes:
    """A non-delivery report whose human text is in ``lang`` (one text part, the returned headers inline;
    with ``multipart`` a DSN with that text part and the standard delivery-status part)."""
    import email.header

    subject, charset, body = LOCALIZED[lang]
    hb = headers if headers is not None else returned_headers(domain=domain, to=recipient)
    text = body.format(rcpt=recipient, diag=diagnostic) + hb.replace("\r\n", "\n")
    encoded_subject = email.header.Header(subject, "utf-8").encode()
    if not multipart:
        head = (f"From: postmaster@{domain}\nTo: {sender}\nSubject: {encoded_subject}\nMIME-Version: 1.0\n"
                f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n")
        return _crlf(head).encode("ascii") + _crlf(text).encode(charset)
    reply, enh = codes(diagnostic)
    head = (f"From: postmaster@{domain}\nTo: {sender}\nSubject: {encoded_subject}\nMIME-Version: 1.0\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="L"\n\n'
            f"--L\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n")
    tail = ("\n--L\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mail.shop.example\n\n"
            f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {enh or '5.0.0'}\n"
            f"Diagnostic-Code: smtp; {diagnostic}\n\n--L--\n")
    return _crlf(head).encode("ascii") + _crlf(text).encode(charset) + _crlf(tail).encode("ascii")
