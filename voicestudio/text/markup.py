"""Inline speech markup: a documented subset of SSML, read into runs of styled text and breaks.

Markup is opt-in: a text is read as markup only when it starts with ``<speak`` (or when the
caller says so), so plain text with a stray "<" is never refused. The supported elements are
``speak``, ``break``, ``emphasis``, ``prosody``, ``phoneme``, ``sub`` and ``say-as``; anything
else is refused with its line and column rather than silently read aloud or skipped, so a
script written for another engine fails loudly here instead of sounding wrong.

The parser is defusedxml's SAX reader with DTDs and entities forbidden: a document that
declares anything (billion laughs, external entities) is refused before a single entity is
expanded. Sizes are bounded (characters, nesting, elements), so a hostile document costs at
most one linear pass.
"""

from __future__ import annotations

import re
import xml.sax
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from io import BytesIO
from xml.sax.xmlreader import AttributesImpl, InputSource, Locator

import defusedxml.sax
from defusedxml.common import DefusedXmlException

from voicestudio.errors import InputTextError
from voicestudio.text.markup_values import (
    NEUTRAL,
    PROSODY_ATTRIBUTES,
    SpanStyle,
    ValueRefused,
    alias_value,
    break_seconds,
    emphasis_style,
    phonemes_value,
    prosody_style,
)
from voicestudio.text.say_as import SayAsError, expand

#: Longest markup read (characters): a long chapter; beyond it the text is not a script.
MAX_MARKUP_CHARS = 1_000_000
#: Deepest nesting of elements, ``<speak>`` included: real scripts nest three or four deep.
MAX_DEPTH = 32
#: Most elements in one document: a break every few words of a long chapter.
MAX_ELEMENTS = 100_000
class MarkupError(InputTextError):
    """Markup that cannot be spoken: says what and where (1-based line and column)."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column

    def __reduce__(self):  # pickles (the GUI's workers may hand it across threads/processes)
        return (type(self), (self.reason, self.line, self.column))


@dataclass(frozen=True)
class Run:
    """A stretch of text spoken with one style.

    ``text`` is what is spoken (after ``<sub alias>`` and ``<say-as>`` expansion), whitespace
    collapsed, spaces at the run's edges kept so runs concatenate into the sentence.
    ``phonemes`` (from ``<phoneme ph>``) are spoken instead of ``text``; the voice checks
    them, not the parser. ``written`` is the text as written where it differs from ``text``
    (sub, say-as), for subtitles.
    """

    text: str
    style: SpanStyle = NEUTRAL
    phonemes: str | None = None
    written: str | None = None

    @property
    def shown(self) -> str:
        """The text as a reader sees it (subtitles): ``written`` where given, else ``text``."""
        return self.written if self.written is not None else self.text


@dataclass(frozen=True)
class Break:
    seconds: float


Piece = Run | Break


@dataclass(frozen=True)
class MarkupDocument:
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        """The spoken text of all runs concatenated (breaks contribute nothing)."""
        return "".join(p.text for p in self.pieces if isinstance(p, Run))

    @property
    def written_text(self) -> str:
        """The text as written (``<sub>`` and ``<say-as>`` content, not their expansion); a
        break between two words separates them ("VTT<break/>please" is two words; "Hello<break/>,"
        stays "Hello,")."""
        out, pending = "", False
        for piece in self.pieces:
            if isinstance(piece, Break):
                pending = True
            elif isinstance(piece, Run):
                shown = piece.shown
                if (pending and out and shown and not out[-1].isspace()
                        and (shown[0].isalnum() or shown[0] in "\"'“‘(")):
                    out += " "
                out, pending = out + shown, False
        return out


class Element(Enum):
    """The supported elements; the value is the tag."""

    SPEAK = "speak"
    BREAK = "break"
    EMPHASIS = "emphasis"
    PROSODY = "prosody"
    PHONEME = "phoneme"
    SUB = "sub"
    SAY_AS = "say-as"


#: The attributes each element takes; any other is refused (``<speak>`` also ignores
#: ``xmlns:*`` declarations and ``xsi:`` schema hints, which SSML files carry by habit).
ATTRIBUTES: dict[Element, frozenset[str]] = {
    Element.SPEAK: frozenset({"version", "xml:lang", "xmlns", "xml:base"}),
    Element.BREAK: frozenset({"time", "strength"}),
    Element.EMPHASIS: frozenset({"level"}),
    Element.PROSODY: PROSODY_ATTRIBUTES,
    Element.PHONEME: frozenset({"alphabet", "ph"}),
    Element.SUB: frozenset({"alias"}),
    Element.SAY_AS: frozenset({"interpret-as", "format"}),
}
_SPEAK_IGNORED_PREFIXES = ("xmlns:", "xsi:")
#: Elements whose content is text only: it is read as a whole (expanded, aliased, replaced).
_TEXT_ONLY = frozenset({Element.BREAK, Element.PHONEME, Element.SUB, Element.SAY_AS})

# Where a document may start: a BOM, whitespace and an XML declaration, then <speak.
_BOM = "\ufeff"
_XML_DECLARATION = re.compile(r"\s*<\?xml\s[^>]*\?>")
# A DOCTYPE naming speak (as SSML 1.0's examples have) starts markup too, so that the parser
# refuses it out loud instead of the tags being read as plain text.
_SPEAK_START = re.compile(r"\s*(?:<speak[\s/>]|<!DOCTYPE\s+speak[\s\[>])")
_WRAP_OPEN, _WRAP_CLOSE = f"<{Element.SPEAK.value}>", f"</{Element.SPEAK.value}>"
_SPACES = re.compile(r"\s+")
_LINE_END = re.compile(r"\r\n|\r|\n")
_DECLARATIONS = ("<!DOCTYPE", "<!ENTITY")
_DECLARATION_REASON = "markup may not declare entities or a DTD"
_END_TAG = re.compile(r"</\s*([^\s>]*)")


def is_markup(text: str) -> bool:
    """Is ``text`` a markup document? It is when it starts (after a BOM, whitespace and an
    optional ``<?xml ...?>`` declaration) with ``<speak`` or ``<!DOCTYPE speak``; anything else
    is plain text."""
    body = text.removeprefix(_BOM)
    declaration = _XML_DECLARATION.match(body)
    if declaration is not None:
        body = body[declaration.end() :]
    return _SPEAK_START.match(body) is not None


def plain_document(text: str) -> MarkupDocument:
    """Plain text as one neutral run, untouched (no parsing)."""
    return MarkupDocument((Run(text),) if text else ())


def reads_as_markup(text: str, markup: bool | None = None) -> bool:
    """The opt-in rule: ``markup=None`` reads ``text`` as markup if :func:`is_markup`,
    ``True`` always, ``False`` never."""
    return is_markup(text) if markup is None else bool(markup)


def read_document(text: str, markup: bool | None = None) -> MarkupDocument:
    """``text`` as a document, read by :func:`reads_as_markup` (a fragment without a
    ``<speak>`` root is read as if wrapped in one when markup is asked for, so
    ``--ssml "Hello <break time='1s'/> there"`` works)."""
    if not reads_as_markup(text, markup):
        return plain_document(text)
    if is_markup(text):
        return parse_markup(text)
    return _parse(text, wrapped=True)


def parse_markup(text: str) -> MarkupDocument:
    """Parse a ``<speak>`` document; MarkupError (with line and column) if any of it cannot be
    spoken. Never returns part of a document."""
    return _parse(text, wrapped=False)


@dataclass
class _Source:
    """The text expat reads and how its positions map back to the user's text."""

    xml: str  # what expat reads: the declaration blanked, perhaps wrapped in <speak>
    column_shift: int  # characters added before the user's first line

    def position(self, line: int, expat_column: int) -> tuple[int, int]:
        """1-based line and column in the user's text of expat's (1-based, 0-based) point."""
        column = expat_column + 1 - (self.column_shift if line == 1 else 0)
        return line, max(column, 1)

    def line_text(self, line: int) -> str:
        """Expat's ``line`` (it ends lines at LF, CR LF and a lone CR alike)."""
        lines = _LINE_END.split(self.xml, maxsplit=line)
        return lines[line - 1] if line <= len(lines) else ""


def _source(text: str, wrapped: bool) -> _Source:
    text = text.removeprefix(_BOM)
    # The declaration is blanked (newlines kept), not removed, so every position still holds;
    # the text is already decoded, so its encoding says nothing.
    xml = text
    declaration = _XML_DECLARATION.match(text)
    if declaration is not None:
        blank = re.sub(r"[^\n]", " ", declaration.group(0))
        xml = blank + text[declaration.end() :]
    if wrapped:
        return _Source(f"{_WRAP_OPEN}{xml}{_WRAP_CLOSE}", len(_WRAP_OPEN))
    return _Source(xml, 0)


def _parse(text: str, wrapped: bool) -> MarkupDocument:
    if len(text) > MAX_MARKUP_CHARS:
        line = text.count("\n", 0, MAX_MARKUP_CHARS) + 1
        column = MAX_MARKUP_CHARS - (text.rfind("\n", 0, MAX_MARKUP_CHARS) + 1) + 1
        raise MarkupError(f"the markup is longer than {MAX_MARKUP_CHARS:,} characters: split it "
                          "into several documents", line, column)
    source = _source(text, wrapped)
    builder = _Builder(source)
    parser = defusedxml.sax.make_parser()
    parser.forbid_dtd = True
    parser.forbid_entities = True
    parser.forbid_external = True
    parser.setContentHandler(builder)
    stream = InputSource()
    stream.setByteStream(BytesIO(source.xml.encode("utf-8")))
    try:
        parser.parse(stream)
    except DefusedXmlException:
        line, column = parser.getLineNumber(), parser.getColumnNumber()
        raise _declaration_error(source, line, column) from None
    except xml.sax.SAXParseException as err:
        raise _syntax_error(source, builder, err) from None
    return MarkupDocument(_tidy(builder.pieces))


def _declaration_error(source: _Source, line: int, expat_column: int) -> MarkupError:
    """The error for a DTD or entity declaration, pointing at its "<!"."""
    before = source.line_text(line)[: expat_column + 1]
    start = max(before.rfind(d) for d in _DECLARATIONS)
    return MarkupError(_DECLARATION_REASON, *source.position(line, max(start, 0)))


def _syntax_error(source: _Source, builder: _Builder, err: xml.sax.SAXParseException
                  ) -> MarkupError:
    """Expat's complaint, said so that a person can fix the markup."""
    message = err.getMessage()
    line, column = err.getLineNumber(), err.getColumnNumber()
    here = source.line_text(line)
    tag_start = here.rfind("<", 0, column + 1)
    if tag_start >= 0 and here.startswith(_DECLARATIONS, tag_start):
        return MarkupError(_DECLARATION_REASON, *source.position(line, tag_start))
    open_frame = builder.stack[-1] if builder.stack else None
    if message == "mismatched tag" and open_frame is not None:
        end_tag = _END_TAG.match(here, tag_start) if tag_start >= 0 else None
        name = end_tag.group(1) if end_tag else "?"
        if any(frame.name == name for frame in builder.stack[:-1]):
            at_wrapper = source.column_shift and name == Element.SPEAK.value
            return _unclosed(open_frame, "" if at_wrapper else f" before </{name}>")
        column = tag_start if end_tag else column
        reason = (f"</{name}> does not close <{open_frame.name}> (opened at line "
                  f"{open_frame.line}, column {open_frame.column})")
        return MarkupError(reason, *source.position(line, column))
    if message == "no element found":
        if open_frame is not None:
            return _unclosed(open_frame, "")
        return MarkupError("the markup is empty: it needs a <speak> element",
                           *source.position(line, column))
    if builder.elements == 0:
        reason = "the markup must start with <speak>"
    elif message == "junk after document element":
        reason = "nothing may follow </speak>: the markup has exactly one <speak> root"
    elif message == "undefined entity":
        reason = ("unknown entity: use &amp; &lt; &gt; &quot; &apos; or a character "
                  "reference such as &#233;")
    elif message == "unclosed token":
        reason = "unfinished tag or comment"
    elif message.startswith("not well-formed"):
        if column > 0 and here[column - 1 : column] == "&":
            column -= 1  # expat stops after a bare "&"; point at the "&" itself
        reason = ("not well-formed markup: write & as &amp; and < as &lt; in text, and quote "
                  "attribute values")
    else:
        reason = message
    return MarkupError(reason, *source.position(line, column))


def _unclosed(frame: _Frame, where: str) -> MarkupError:
    return MarkupError(f"unclosed <{frame.name}>: it needs a </{frame.name}>{where}",
                       frame.line, frame.column)


@dataclass
class _Frame:
    """An open element: what it is, where it starts, the style inside it, its text."""

    element: Element
    name: str
    line: int
    column: int
    style: SpanStyle
    attributes: dict[str, str] = field(default_factory=dict)
    content: list[str] = field(default_factory=list)  # text-only elements collect their text


class _Builder(xml.sax.ContentHandler):
    """Turns SAX events into pieces; refuses what cannot be spoken where it stands."""

    def __init__(self, source: _Source):
        super().__init__()
        self.source = source
        self.locator: Locator | None = None
        self.stack: list[_Frame] = []
        self.pieces: list[Piece] = []
        self.text: list[str] = []  # text of the current style not yet made a run
        self.elements = 0

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 - SAX's name
        self.locator = locator

    def _here(self) -> tuple[int, int]:
        assert self.locator is not None  # expat sets it before the first event
        return self.source.position(self.locator.getLineNumber(),
                                    self.locator.getColumnNumber())

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802
        line, column = self._here()
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise MarkupError(f"more than {MAX_ELEMENTS:,} elements: split the markup into "
                              "several documents", line, column)
        if len(self.stack) >= MAX_DEPTH:
            raise MarkupError(f"elements nest deeper than {MAX_DEPTH} levels", line, column)
        element = _element(name, line, column)
        self._check_place(element, name, line, column)
        attributes = {key: attrs[key] for key in attrs.getNames()}
        _check_attributes(element, name, attributes, line, column)
        style = self.stack[-1].style if self.stack else NEUTRAL
        try:
            if element is Element.BREAK:
                self._flush()
                self.pieces.append(Break(break_seconds(attributes)))
            elif element is Element.EMPHASIS:
                self._flush()
                style = style.combined(emphasis_style(attributes))
            elif element is Element.PROSODY:
                self._flush()
                style = style.combined(prosody_style(attributes))
            elif element in _TEXT_ONLY:
                self._flush()
                _check_text_only_attributes(element, attributes)
        except ValueRefused as refused:
            raise MarkupError(str(refused), line, column) from None
        self.stack.append(_Frame(element, name, line, column, style, attributes))

    def _check_place(self, element: Element, name: str, line: int, column: int) -> None:
        if not self.stack:
            if element is not Element.SPEAK:
                raise MarkupError(f"the markup must start with <speak>, not <{name}>",
                                  line, column)
            return
        if element is Element.SPEAK:
            raise MarkupError("<speak> may only be the root, not inside another element",
                              line, column)
        parent = self.stack[-1]
        if parent.element is Element.BREAK:
            raise MarkupError(f"<break> must be empty, but holds <{name}>", line, column)
        if parent.element in _TEXT_ONLY:
            raise MarkupError(f"<{parent.name}> may hold only text, not <{name}>", line, column)

    def characters(self, content: str) -> None:
        if not self.stack:
            return  # expat reports nothing outside the root but whitespace
        frame = self.stack[-1]
        if frame.element in _TEXT_ONLY:
            frame.content.append(content)
        else:
            self.text.append(content)

    def endElement(self, name: str) -> None:  # noqa: N802
        frame = self.stack[-1]
        if frame.element not in _TEXT_ONLY:
            self._flush()
            self.stack.pop()
            return
        self.stack.pop()
        try:
            run = _text_only_run(frame)
        except ValueRefused as refused:
            raise MarkupError(str(refused), frame.line, frame.column) from None
        if run is not None:
            self.pieces.append(run)

    def _flush(self) -> None:
        """Make the text gathered so far a run in the style of the innermost element."""
        if self.text:
            style = self.stack[-1].style if self.stack else NEUTRAL
            self.pieces.append(Run(_SPACES.sub(" ", "".join(self.text)), style))
            self.text = []


def _element(name: str, line: int, column: int) -> Element:
    try:
        return Element(name)
    except ValueError:
        supported = ", ".join(f"<{e.value}>" for e in Element)
        raise MarkupError(f"<{name}> is not supported; the supported elements are {supported}",
                          line, column) from None


def _check_attributes(element: Element, name: str, attributes: dict[str, str], line: int,
                      column: int) -> None:
    allowed = ATTRIBUTES[element]
    for key in attributes:
        if key in allowed:
            continue
        if element is Element.SPEAK and key.startswith(_SPEAK_IGNORED_PREFIXES):
            continue
        takes = ", ".join(sorted(allowed)) if allowed else "none"
        raise MarkupError(f"<{name}> has no attribute {key!r} (it takes: {takes})", line, column)


def _check_text_only_attributes(element: Element, attributes: dict[str, str]) -> None:
    """Refuse a text-only element's attributes at its start tag, before its content is read."""
    if element is Element.PHONEME:
        phonemes_value(attributes)
    elif element is Element.SUB:
        alias_value(attributes)
    elif element is Element.SAY_AS and "interpret-as" not in attributes:
        raise ValueRefused("<say-as> needs interpret-as")


def _text_only_run(frame: _Frame) -> Run | None:
    """The run a closed break, phoneme, sub or say-as stands for (a break has none)."""
    content = "".join(frame.content)
    written = " ".join(content.split())
    if frame.element is Element.BREAK:
        if written:
            raise ValueRefused("<break> must be empty")
        return None
    if frame.element is Element.PHONEME:
        if not written:
            raise ValueRefused("<phoneme> needs the written word(s) inside it, for subtitles")
        return Run(written, frame.style, phonemes=phonemes_value(frame.attributes))
    if frame.element is Element.SUB:
        alias = alias_value(frame.attributes)
        return Run(alias, frame.style, written=written if written not in ("", alias) else None)
    attributes = frame.attributes
    try:
        spoken = expand(attributes["interpret-as"], content, attributes.get("format"))
    except SayAsError as err:
        raise ValueRefused(str(err)) from None
    return Run(spoken, frame.style, written=written if written != spoken else None)


def _tidy(pieces: list[Piece]) -> tuple[Piece, ...]:
    """The pieces as the document's: neighbours joined, edges trimmed, then joined again (a
    space dropped between two breaks makes them neighbours)."""
    return tuple(_joined(_trimmed(_joined(pieces))))


def _joined(pieces: list[Piece]) -> list[Piece]:
    """Drop empty runs and silent breaks, sum neighbouring breaks, merge neighbouring runs of
    one style, and keep one space where two runs meet (across a break too)."""
    out: list[Piece] = []
    last_run: Run | None = None  # the run before this piece, breaks between them or not
    for piece in pieces:
        if isinstance(piece, Break):
            if piece.seconds <= 0:
                continue
            if out and isinstance(out[-1], Break):
                out[-1] = Break(out[-1].seconds + piece.seconds)
            else:
                out.append(piece)
            continue
        if not piece.text.strip() and piece.phonemes is None:
            if not piece.text:
                continue
            piece = Run(" ")  # a space has no style: only where it falls matters
        if last_run is not None and last_run.text.endswith(" ") and piece.text.startswith(" "):
            piece = replace(piece, text=piece.text[1:])
            if not piece.text and piece.phonemes is None:
                continue
        previous = out[-1] if out else None
        if isinstance(previous, Run) and _mergeable(previous, piece):
            piece = replace(previous, text=previous.text + piece.text)
            out[-1] = piece
        else:
            out.append(piece)
        last_run = piece
    return out


def _mergeable(a: Run, b: Run) -> bool:
    plain = a.phonemes is None and b.phonemes is None and a.written is None and b.written is None
    return plain and (a.style == b.style or not b.text.strip())


def _trimmed(pieces: list[Piece]) -> list[Piece]:
    """Drop runs that are only a space unless they part two runs (beside a break or at an end
    a space says nothing), and strip the document's first and last run."""
    kept: list[Piece] = []
    for i, piece in enumerate(pieces):
        if isinstance(piece, Run) and piece.phonemes is None and not piece.text.strip():
            before = pieces[i - 1] if i > 0 else None
            after = pieces[i + 1] if i + 1 < len(pieces) else None
            if not (isinstance(before, Run) and isinstance(after, Run)):
                continue
        kept.append(piece)
    runs = [i for i, piece in enumerate(kept) if isinstance(piece, Run)]
    if runs:
        kept[runs[0]] = _stripped(kept[runs[0]], str.lstrip)
        kept[runs[-1]] = _stripped(kept[runs[-1]], str.rstrip)  # may be the first run too
    return kept


def _stripped(piece: Piece, strip: Callable[[str], str]) -> Piece:
    return replace(piece, text=strip(piece.text)) if isinstance(piece, Run) else piece
