"""Chat with a run's result (its verified GGUF, or its adapter through a worker), a .gguf file
or a model folder; streaming, one pane per model. Compare mode (ctrl+o) answers with the run's
base model (A) beside the tuned one (B), and ``/a`` or ``/b`` stores the preferred answer as a
DPO preference pair in the run's preferences.jsonl — the same file ``tuitune chat`` writes.
The slash commands and what they do are ``tuitune chat``'s (:mod:`tuitune.chat.commands`,
:mod:`tuitune.chat.controller`); this screen holds the panes and the streaming."""

from __future__ import annotations

import threading
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from tuitune.chat.backend import ChatError
from tuitune.chat.commands import COMMANDS, HINT, Command, parse
from tuitune.chat.controller import ChatControl, chat_errors, open_chat
from tuitune.tui.messages import ChatOpened, ChatPieces, ChatReplyDone
from tuitune.tui.screens.pick import PickDialog

BATCH_SECONDS = 0.05  # stream pieces are gathered this long before a repaint


class ChatScreen(Screen):
    """A conversation with one model, or two side by side."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="chat.back", tooltip="Close the chat (the models are unloaded)"),
        Binding("ctrl+o", "toggle_compare", "Compare", id="chat.compare",
                tooltip="Answer with the run's base model (A) beside the tuned one (B), or go back to one"),
        Binding("ctrl+r", "retry", "Retry", id="chat.retry",
                tooltip="A new answer to the last question; /a keeps the old one, /b the new (a preference)"),
        Binding("ctrl+n", "reset", "New chat", id="chat.reset", tooltip="Forget the conversation"),
        Binding("ctrl+s", "save", "Save", id="chat.save", tooltip="Save the transcript in the run's chats/ folder"),
        Binding("ctrl+l", "open_saved", "Saved chats", id="chat.open",
                tooltip="Reopen a saved transcript and continue it"),
    ]

    HELP_EXTRA = [(spec.usage, spec.title, "", spec.help) for spec in COMMANDS]

    def __init__(self, ref: str, compare: bool = False) -> None:
        super().__init__()
        self.ref = ref
        self.compare = compare
        self.control: ChatControl | None = None
        self.busy = False
        self.replies: list[Static] = []
        self.reply_texts: list[str] = []
        self._lock = threading.Lock()
        self._streaming = False
        self._closing = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="chat-view"):
            yield Static(f"loading {self.ref}…", id="chat-title")
            yield Static("", id="chat-settings", markup=False)
            yield Horizontal(id="chat-panes")
            yield Input(placeholder="say something (enter sends; /a /b /retry /reset /system /set /save)", id="chat-input")
            yield Static(HINT, id="chat-hint", markup=False)  # "[NAME]" is text, not a style
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"chat {self.ref}"
        self.query_one("#chat-input", Input).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-load")
    def load(self) -> None:
        try:
            control = open_chat(self.ref, self.compare)
        except chat_errors() as e:
            self.post_message(ChatOpened(None, str(e)))
            return
        with self._lock:
            if self._closing:  # closed while loading: nobody will hear the message
                control.close()
                return
        self.post_message(ChatOpened(control, ""))

    @on(ChatOpened)
    async def _opened(self, message: ChatOpened) -> None:
        title = self.query_one("#chat-title", Static)
        if message.chat is None:
            title.update(Text.assemble(("cannot chat: ", "bold red"), message.error))
            self.compare = self.control.compare if self.control else False
            return
        control = message.chat
        if self.control is not None:  # compare switched: the conversation goes on with the new sides
            control.adopt(self.control)
            self.control.close()
            self.control = None
        title.update(Text.assemble(("chatting with ", "dim"), (control.target.label, "bold"),
                                   ("   (compare: base A / tuned B)" if control.compare else "", "dim")))
        if control.warning:
            self.notify(control.warning, markup=False, severity="warning", timeout=12)
        panes = self.query_one("#chat-panes", Horizontal)
        await panes.remove_children()
        for n, label in enumerate(control.labels):
            pane = VerticalScroll(classes="chat-pane", id=f"pane-{n}")
            await panes.mount(pane)
            pane.border_title = label
        if self._closing:  # the screen went away while the panes were built
            control.close()
            return
        self.control, self.compare = control, control.compare  # ready: the panes exist
        await self._show_history()
        self._show_settings()

    def _show_settings(self) -> None:
        """The reply's settings, the last answer's speed, and why it may be slow."""
        if self.control is None:
            return
        parts = [self.control.params.describe()]
        speeds = [s.speed() for s in self.control.sessions]
        if any(speeds):
            parts.append("last answer: " + " | ".join(
                f"{label} {speed}" if self.control.compare else speed
                for label, speed in zip("AB", speeds, strict=False) if speed))
        if self.control.warning:
            parts.append("⚠ " + self.control.warning)
        self.query_one("#chat-settings", Static).update(Text("   ".join(parts)))

    @on(Input.Submitted, "#chat-input")
    async def _submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        message.input.value = ""
        try:
            command = parse(text)
        except ChatError as e:
            self.notify(str(e), markup=False, severity="warning", timeout=8)
            return
        if command is None:
            self._ask(text)
        else:
            await self._command(command)

    async def _command(self, command: Command) -> None:
        if command.name == "retry":
            self.action_retry()
        elif command.name == "quit":
            self.action_close()
        elif command.name == "help":
            self.notify(HINT, markup=False, timeout=8)
        else:
            await self._apply(command)

    async def _apply(self, command: Command) -> None:
        """A command the controller carries out (as for ``tuitune chat``); the panes follow."""
        if not self._ready():
            return
        assert self.control is not None
        try:
            said = self.control.apply(command)
        except chat_errors() as e:
            self.notify(str(e), markup=False, severity="warning", timeout=8)
            return
        if command.name in ("reset", "open"):
            await self._show_history()
        if command.name == "prefer":
            self.query_one("#chat-hint", Static).update(HINT)
        if command.name == "set":
            self._show_settings()
        self.notify(said, markup=False)

    async def _show_history(self) -> None:
        """Each pane shows its side's conversation again (empty after a reset)."""
        assert self.control is not None
        for n, session in enumerate(self.control.sessions):
            pane = self.query_one(f"#pane-{n}", VerticalScroll)
            await pane.remove_children()
            for i, m in enumerate(session.history):
                if m["role"] == "user":
                    await pane.mount(Static(Text.assemble(("you  ", "bold"), m["content"]), classes="chat-user"))
                elif i < session.inherited:  # the tuned side's answer, continued here: not this model's
                    await pane.mount(Static(Text.assemble(("(B answered) ", "italic"), m["content"] or "…",
                                                          style="dim"), classes="chat-reply"))
                else:
                    await pane.mount(Static(Text(m["content"] or "…"), classes="chat-reply"))
            pane.scroll_end(animate=False)

    def _ready(self) -> bool:
        if self.control is None:
            self.notify("the model is still loading", severity="warning")
            return False
        if self.busy:
            self.notify("wait for the answer to finish", severity="warning")
            return False
        return True

    def _ask(self, text: str, retry: bool = False) -> None:
        if not self._ready():
            return
        assert self.control is not None
        if not retry:
            self.control.new_question()
        self.busy = self._streaming = True
        self.replies, self.reply_texts = [], []
        for n in range(len(self.control.sessions)):
            pane = self.query_one(f"#pane-{n}", VerticalScroll)
            pane.mount(Static(Text.assemble(("you  ", "bold"), text), classes="chat-user"))
            reply = Static("…", classes="chat-reply")
            pane.mount(reply)
            self.replies.append(reply)
            self.reply_texts.append("")
            pane.scroll_end(animate=False)
        self.stream(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-stream")
    def stream(self, text: str) -> None:
        """Each side answers in turn; pieces are posted in small batches."""
        assert self.control is not None
        try:
            self._stream(self.control, text)
        finally:
            with self._lock:  # the screen may have closed meanwhile: unload the models now
                self._streaming = False
                if self._closing:
                    self.control.close()

    def _stream(self, control: ChatControl, text: str) -> None:
        for n, session in enumerate(control.sessions):
            pieces: list[str] = []
            last = time.monotonic()
            try:
                for piece in session.ask(text):
                    if self._closing:
                        return
                    pieces.append(piece)
                    if time.monotonic() - last >= BATCH_SECONDS:
                        self.post_message(ChatPieces(n, "".join(pieces)))
                        pieces, last = [], time.monotonic()
            except Exception as e:  # noqa: BLE001 - a dead chat worker must not take the app down
                self.post_message(ChatPieces(n, "".join(pieces)))
                self.post_message(ChatReplyDone(n, f"the answer broke off: {e}"))
                continue
            self.post_message(ChatPieces(n, "".join(pieces)))
            notes = list(session.notices)
            session.notices.clear()
            self.post_message(ChatReplyDone(n, "; ".join(notes)))

    @on(ChatPieces)
    def _pieces(self, message: ChatPieces) -> None:
        if message.side >= len(self.replies):
            return
        reply = self.replies[message.side]
        self.reply_texts[message.side] += message.text
        reply.update(Text(self.reply_texts[message.side] or "…"))
        reply.parent.scroll_end(animate=False)  # type: ignore[union-attr]

    @on(ChatReplyDone)
    def _done(self, message: ChatReplyDone) -> None:
        if message.note:
            self.notify(message.note, markup=False, severity="warning", timeout=8)
        self._show_settings()
        if message.side == len(self.replies) - 1:
            self.busy = False
            if self.control is not None and self.control.pair() is not None:
                self.query_one("#chat-hint", Static).update("/a or /b: which answer is better? (saved as a preference pair)")

    def action_retry(self) -> None:
        if not self._ready():
            return
        assert self.control is not None
        try:
            question = self.control.take_retry()
        except ChatError as e:
            self.notify(str(e), markup=False, severity="warning")
            return
        self._ask(question, retry=True)

    async def action_reset(self) -> None:
        await self._apply(Command("reset"))

    async def action_save(self, name: str | None = None) -> None:
        await self._apply(Command("save", text=name or ""))

    def action_open_saved(self) -> None:
        if not self._ready():
            return
        assert self.control is not None
        names = self.control.transcripts()
        if not names:
            self.notify(f"no saved chats yet in {self.control.folder()}; ctrl+s saves this one", markup=False)
            return

        async def chosen(name: str | None) -> None:
            if name:
                await self._apply(Command("open", text=name))

        self.app.push_screen(PickDialog("Continue which saved chat? (enter opens, escape cancels)", names[::-1]),
                             chosen)

    def action_toggle_compare(self) -> None:
        if self.busy:
            self.notify("wait for the answer to finish", severity="warning")
            return
        self.compare = not self.compare
        self.query_one("#chat-title", Static).update(f"loading {'compare mode' if self.compare else 'one model'}…")
        self.load()

    def action_close(self) -> None:
        self.dismiss()

    def on_unmount(self) -> None:
        with self._lock:
            self._closing = True
            if self.control is not None and not self._streaming:
                self.control.close()
