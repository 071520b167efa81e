"""A real IMAP4rev1 server the tests start on a free loopback port (standard library asyncio,
in a thread of its own): enough of RFC 3501 (and RFC 6851 MOVE, RFC 4315 COPYUID) for
imaplib — CAPABILITY, NOOP, LOGIN, LOGOUT, SELECT/EXAMINE, CREATE, LIST, CLOSE, EXPUNGE,
SEARCH/FETCH/STORE/COPY/MOVE by sequence number or UID. Messages live in memory, per folder.

Fixture ``imap_server`` (a test module imports it from here). ``deliver(raw)`` puts a message in
a folder as a mail server would; ``folder(name)`` is what a folder holds now.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.servers import free_port

USER, PASSWORD = "desk", "imap-secret"
CAPABILITIES = "IMAP4rev1 MOVE UIDPLUS"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Stored:
    uid: int
    raw: bytes
    internal: datetime
    flags: set[str] = field(default_factory=set)


@dataclass
class Folder:
    name: str
    uidvalidity: int
    uidnext: int = 1
    messages: list[Stored] = field(default_factory=list)

    def add(self, raw: bytes, internal: datetime, flags=()) -> Stored:
        stored = Stored(self.uidnext, raw, internal, set(flags))
        self.uidnext += 1
        self.messages.append(stored)
        return stored


class Bad(Exception):
    """A command the server answers with BAD (syntax) or NO (refused): ``kind``."""

    def __init__(self, text: str, kind: str = "BAD"):
        super().__init__(text)
        self.kind = kind


def _internaldate(when: datetime) -> str:
    offset = when.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return (f'"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year:04d} '
            f'{when:%H:%M:%S} {sign}{minutes // 60:02d}{minutes % 60:02d}"')


# --- the command line: tag, command, arguments (atoms, quoted strings, literals, lists) --


_TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


def _parse(data: bytes, literals: list[bytes]) -> list:
    """The arguments of a command line; ``{n}`` placeholders ``\\x00<i>\\x00`` are literals."""
    stack: list[list] = [[]]
    pos = 0
    while pos < len(data):
        if data[pos:].strip() == b"":
            break
        match = _TOKEN.match(data, pos)
        if not match:
            raise Bad("cannot parse the command")
        pos = match.end()
        opened, closed, quoted, atom = match.groups()
        if opened:
            stack.append([])
        elif closed:
            if len(stack) == 1:
                raise Bad("unbalanced parentheses")
            inner = stack.pop()
            stack[-1].append(inner)
        elif quoted is not None:
            stack[-1].append(re.sub(rb"\\(.)", rb"\1", quoted).decode("utf-8", "replace"))
        else:
            lit = re.fullmatch(rb"\x00(\d+)\x00", atom)
            stack[-1].append(literals[int(lit.group(1))] if lit else
                             atom.decode("utf-8", "replace"))
    if len(stack) != 1:
        raise Bad("unbalanced parentheses")
    return stack[0]


def _sequence(text: str, largest: int) -> set[int]:
    """The numbers a sequence set names (``1:*``, ``3,5:7``), ``*`` being ``largest``."""
    out: set[int] = set()
    for part in str(text).split(","):
        ends = [largest if x == "*" else int(x) for x in part.split(":")]
        if len(ends) == 1:
            out.add(ends[0])
        elif len(ends) == 2:
            low, high = sorted(ends)
            out.update(range(low, high + 1))
        else:
            raise Bad("bad sequence set")
    return out


class ImapServer:
    """A real IMAP server on 127.0.0.1:``port``: one INBOX (and any folder created)."""

    def __init__(self, user: str = USER, password: str = PASSWORD, move: bool = True):
        self.port = free_port()
        self.user, self.password = user, password
        self.move = move  # advertise MOVE; without it clients COPY, STORE \Deleted, EXPUNGE
        self.lock = threading.RLock()
        self._validity = 1000
        self.folders: dict[str, Folder] = {}
        self.create("INBOX")
        self.commands: list[str] = []  # every command name received, in order
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    # --- the test's side ------------------------------------------------------------

    @property
    def config(self) -> dict:
        """The app settings that read this server's INBOX."""
        return {"MAIL_INTAKE_HOST": "127.0.0.1", "MAIL_INTAKE_PORT": self.port,
                "MAIL_INTAKE_USER": self.user, "MAIL_INTAKE_PASSWORD": self.password,
                "MAIL_INTAKE_SSL": False, "MAIL_INTAKE_MAILBOX": "INBOX",
                "MAIL_INTAKE_DONE_FOLDER": "Processed", "MAIL_INTAKE_TIMEOUT": 5}

    def create(self, name: str) -> Folder:
        with self.lock:
            key = "INBOX" if name.upper() == "INBOX" else name
            if key not in self.folders:
                self._validity += 1
                self.folders[key] = Folder(key, self._validity)
            return self.folders[key]

    def deliver(self, raw: bytes | str, folder: str = "INBOX",
                internal: datetime | None = None) -> int:
        """Put a message in ``folder`` as the mail server would; its UID."""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        raw = re.sub(rb"(?<!\r)\n", b"\r\n", raw)
        with self.lock:
            internal = internal or datetime.now(UTC).replace(microsecond=0)
            return self.create(folder).add(raw, internal).uid

    def folder(self, name: str) -> list[bytes]:
        with self.lock:
            box = self.folders.get(name)
            return [m.raw for m in box.messages] if box else []

    def start(self):
        ready = threading.Event()

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._session, "127.0.0.1", self.port))
            ready.set()
            loop.run_forever()
            self._server.close()
            sessions = asyncio.all_tasks(loop)  # the clients still connected
            for task in sessions:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*sessions, return_exceptions=True))
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="imap-server")
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the IMAP server did not start")

    def stop(self):
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None

    # --- the protocol -----------------------------------------------------------------

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        state = {"user": None, "folder": None, "readonly": False}
        writer.write(b"* OK [CAPABILITY " + self._caps(state).encode() + b"] test IMAP ready\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                literals: list[bytes] = []
                while (lit := re.search(rb"\{(\d+)\+?\}\r\n$", line)):
                    size = int(lit.group(1))
                    if b"+" not in lit.group(0):  # a synchronising literal: ask for it
                        writer.write(b"+ go ahead\r\n")
                        await writer.drain()
                    literals.append(await reader.readexactly(size))
                    line = (line[:lit.start()] + b"\x00%d\x00" % (len(literals) - 1)
                            + await reader.readline())
                out, done = self._command(line.rstrip(b"\r\n"), literals, state)
                writer.write(out)
                await writer.drain()
                if done:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _caps(self, state: dict) -> str:
        """Like Dovecot: the extensions only once logged in."""
        if state["user"] is None:
            return "IMAP4rev1"
        return CAPABILITIES if self.move else CAPABILITIES.replace(" MOVE", "")

    def _command(self, line: bytes, literals: list[bytes], state: dict) -> tuple[bytes, bool]:
        tag, _, rest = line.partition(b" ")
        tag = tag.decode("utf-8", "replace") or "*"
        name, _, args = rest.partition(b" ")
        name = name.decode("utf-8", "replace").upper()
        out: list[bytes] = []
        try:
            with self.lock:
                self.commands.append(name)
                args_list = _parse(args, literals)
                uid = False
                if name == "UID":
                    if not args_list:
                        raise Bad("UID what?")
                    uid, name = True, str(args_list.pop(0)).upper()
                    self.commands[-1] = f"UID {name}"
                text, done = self._run(name, args_list, uid, state, out)
            out.append(f"{tag} OK {text}\r\n".encode())
        except Bad as err:
            done = False
            out.append(f"{tag} {err.kind} {err}\r\n".encode())
        except (ValueError, IndexError, TypeError):
            done = False
            out.append(f"{tag} BAD invalid arguments\r\n".encode())
        return b"".join(out), done

    def _need(self, state, selected=False):
        if state["user"] is None:
            raise Bad("log in first")
        if selected and state["folder"] is None:
            raise Bad("select a mailbox first")

    def _box(self, name) -> Folder:
        name = name.decode() if isinstance(name, bytes) else str(name)
        key = "INBOX" if name.upper() == "INBOX" else name
        if key not in self.folders:
            raise Bad("[TRYCREATE] no such mailbox", "NO")
        return self.folders[key]

    def _run(self, name: str, args: list, uid: bool, state: dict, out: list) -> tuple[str, bool]:
        if name == "CAPABILITY":
            out.append(f"* CAPABILITY {self._caps(state)}\r\n".encode())
            return "CAPABILITY completed", False
        if name == "NOOP":
            return "NOOP completed", False
        if name == "LOGOUT":
            out.append(b"* BYE logging out\r\n")
            return "LOGOUT completed", True
        if name == "LOGIN":
            user, password = (a.decode() if isinstance(a, bytes) else a for a in args[:2])
            if (user, password) != (self.user, self.password):
                raise Bad("[AUTHENTICATIONFAILED] wrong user name or password", "NO")
            state["user"] = user
            return "LOGIN completed", False
        self._need(state)
        if name in ("SELECT", "EXAMINE"):
            state["folder"] = None
            box = self._box(args[0])
            state["folder"], state["readonly"] = box.name, name == "EXAMINE"
            out.append(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n")
            out.append(f"* {len(box.messages)} EXISTS\r\n* 0 RECENT\r\n".encode())
            out.append(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid\r\n".encode())
            out.append(f"* OK [UIDNEXT {box.uidnext}] next UID\r\n".encode())
            mode = "READ-ONLY" if state["readonly"] else "READ-WRITE"
            return f"[{mode}] {name} completed", False
        if name == "CREATE":
            folder = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            if folder.upper() == "INBOX" or folder in self.folders:
                raise Bad("[ALREADYEXISTS] mailbox exists", "NO")
            self.create(folder)
            return "CREATE completed", False
        if name == "LIST":
            pattern = str(args[1]) if len(args) > 1 else ""
            regex = re.escape(pattern).replace(r"\*", ".*").replace("%", "[^/]*")
            for folder in self.folders:
                if pattern and re.fullmatch(regex, folder):
                    out.append(f'* LIST (\\HasNoChildren) "/" "{folder}"\r\n'.encode())
            return "LIST completed", False
        self._need(state, selected=True)
        box = self.folders.get(state["folder"])
        if box is None:
            raise Bad("the selected mailbox is gone", "NO")
        if name == "CLOSE":
            if not state["readonly"]:
                box.messages = [m for m in box.messages if "\\Deleted" not in m.flags]
            state["folder"] = None
            return "CLOSE completed", False
        if name == "EXPUNGE":
            self._expunge(box, state, out, lambda m: "\\Deleted" in m.flags)
            return "EXPUNGE completed", False
        if name == "SEARCH":
            return self._search(box, args, uid, out), False
        chosen = self._chosen(box, args[0], uid)
        if name == "FETCH":
            for seq, message in chosen:
                out.append(self._fetch(seq, message, args[1:], uid, state))
            return "FETCH completed", False
        if state["readonly"] and name in ("STORE", "MOVE"):
            raise Bad("mailbox is read-only", "NO")
        if name == "STORE":
            mode, flags = str(args[1]).upper(), args[2] if len(args) > 2 else []
            flags = set(flags if isinstance(flags, list) else [flags])
            for seq, message in chosen:
                if mode.startswith("+"):
                    message.flags |= flags
                elif mode.startswith("-"):
                    message.flags -= flags
                else:
                    message.flags = set(flags)
                if not mode.endswith(".SILENT"):
                    shown = " ".join(sorted(message.flags))
                    extra = f"UID {message.uid} " if uid else ""
                    out.append(f"* {seq} FETCH ({extra}FLAGS ({shown}))\r\n".encode())
            return "STORE completed", False
        if name in ("COPY", "MOVE"):
            if name == "MOVE" and not self.move:
                raise Bad("unknown command")
            target = self._box(args[1])
            pairs = [(m.uid, target.add(m.raw, m.internal, m.flags - {"\\Deleted"}).uid)
                     for _, m in chosen]
            code = (f"[COPYUID {target.uidvalidity} {','.join(str(a) for a, _ in pairs)} "
                    f"{','.join(str(b) for _, b in pairs)}] ") if pairs else ""
            if name == "COPY":
                return f"{code}COPY completed", False
            out.append(f"* OK {code}moved\r\n".encode())
            moved = {m.uid for _, m in chosen}
            self._expunge(box, state, out, lambda m: m.uid in moved)
            return "MOVE completed", False
        raise Bad(f"unknown command {name}")

    def _chosen(self, box: Folder, text, uid: bool) -> list[tuple[int, Stored]]:
        if uid:
            largest = box.messages[-1].uid if box.messages else 0
            wanted = _sequence(text, largest)
            return [(i + 1, m) for i, m in enumerate(box.messages) if m.uid in wanted]
        wanted = _sequence(text, len(box.messages))
        return [(i + 1, m) for i, m in enumerate(box.messages) if i + 1 in wanted]

    def _expunge(self, box: Folder, state, out, gone):
        if state["readonly"]:
            raise Bad("mailbox is read-only", "NO")
        for index in range(len(box.messages) - 1, -1, -1):  # highest first: no renumbering
            if gone(box.messages[index]):
                del box.messages[index]
                out.append(f"* {index + 1} EXPUNGE\r\n".encode())

    def _search(self, box: Folder, args: list, uid: bool, out: list) -> str:
        keys = [str(a).upper() for a in args if not isinstance(a, list)]
        if keys[:1] == ["CHARSET"]:
            keys = keys[2:]
        found = []
        for index, message in enumerate(box.messages):
            ok = True
            for key in keys:
                if key == "UNDELETED":
                    ok &= "\\Deleted" not in message.flags
                elif key == "DELETED":
                    ok &= "\\Deleted" in message.flags
                elif key == "UNSEEN":
                    ok &= "\\Seen" not in message.flags
                elif key == "SEEN":
                    ok &= "\\Seen" in message.flags
                elif key != "ALL":
                    raise Bad(f"search key {key} is not supported here")
            if ok:
                found.append(message.uid if uid else index + 1)
        out.append(("* SEARCH" + "".join(f" {n}" for n in found) + "\r\n").encode())
        return "SEARCH completed"

    def _fetch(self, seq: int, message: Stored, items: list, uid: bool, state: dict) -> bytes:
        wanted = items[0] if len(items) == 1 and isinstance(items[0], list) else items
        names = []
        for item in wanted:  # "BODY.PEEK[]" arrives as one atom; "BODY[]" likewise
            names.append(str(item).upper())
        if "ALL" in names or "FAST" in names or "FULL" in names:
            names = ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
        if uid and "UID" not in names:
            names.insert(0, "UID")
        parts: list[bytes] = []
        for item in names:
            if item == "UID":
                parts.append(f"UID {message.uid}".encode())
            elif item == "FLAGS":
                parts.append(f"FLAGS ({' '.join(sorted(message.flags))})".encode())
            elif item == "INTERNALDATE":
                parts.append(f"INTERNALDATE {_internaldate(message.internal)}".encode())
            elif item == "RFC822.SIZE":
                parts.append(f"RFC822.SIZE {len(message.raw)}".encode())
            elif item in ("BODY[HEADER]", "BODY.PEEK[HEADER]"):
                end = message.raw.find(b"\r\n\r\n")
                header = message.raw if end < 0 else message.raw[:end + 4]
                parts.append(f"BODY[HEADER] {{{len(header)}}}\r\n".encode() + header)
            elif item in ("RFC822", "BODY[]", "BODY.PEEK[]"):
                label = "RFC822" if item == "RFC822" else "BODY[]"
                parts.append(f"{label} {{{len(message.raw)}}}\r\n".encode() + message.raw)
                if item != "BODY.PEEK[]" and not state["readonly"]:
                    message.flags.add("\\Seen")
            else:
                raise Bad(f"fetch item {item} is not supported here")
        return f"* {seq} FETCH (".encode() + b" ".join(parts) + b")\r\n"


@pytest.fixture
def imap_server():
    server = ImapServer()
    server.start()
    yield server
    server.stop()
