"""An SMTP server for the mail fault suite that fails on purpose.

Usage: flaky_smtp.py HOST PORT MAILDIR FAIL_EVERY

- Every FAIL_EVERY-th message is answered "451 try again later" at the end of DATA and not kept;
  the others are written to MAILDIR and answered 250.
- A recipient whose local part starts with "refused" gets 550 (a refusal no retry can mend); one
  starting with "busy" gets 451 every time (a failure that keeps happening).
- SIGUSR1 takes the server down: it stops listening, and sessions already open are answered 421.
  SIGUSR2 brings it back on the same port.

A message is written before it is answered 250, and only a message answered 250 counts as
delivered, so a client that retries every failure delivers each message once.
"""

import asyncio
import mailbox
import signal
import sys

from aiosmtpd.smtp import SMTP

DOWN = "421 4.3.2 Service not available, closing transmission channel"


class Handler:
    def __init__(self, maildir, fail_every):
        self.maildir = mailbox.Maildir(maildir, create=True)
        self.fail_every = fail_every
        self.messages = 0
        self.down = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.down:
            return DOWN
        local = address.split("@", 1)[0].lower()
        if local.startswith("refused"):
            return "550 5.1.1 No such mailbox here"
        if local.startswith("busy"):
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.down:
            return DOWN
        self.messages += 1
        if self.messages % self.fail_every == 0:
            return "451 4.3.0 Temporary failure, try again later"
        self.maildir.add(envelope.original_content)
        return "250 OK"


async def main():
    host, port, maildir, fail_every = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    handler = Handler(maildir, fail_every)
    loop = asyncio.get_running_loop()
    listening = []

    async def up():
        handler.down = False
        if not listening:
            listening.append(await loop.create_server(lambda: SMTP(handler), host, port))

    def down():
        handler.down = True
        while listening:
            listening.pop().close()

    await up()
    loop.add_signal_handler(signal.SIGUSR1, down)
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(up()))
    await asyncio.Event().wait()


asyncio.run(main())
