"""SCIM filters (RFC 7644 3.4.2.2): a parser for the whole grammar, and a reading of its tree for one resource type.

The parser knows no resource: it turns `emails[type eq "work" and value co "@example.com"] or not (active eq true)`
into a small tree (Compare, Present, And, Or, Not, ValuePath) of attribute paths. What a path means is the
business of the resource type that reads the tree (govern.scim.user_query turns it into SQL over people; a
group reading can walk the same tree). A hand-written recursive-descent parser, not a library: the one on PyPI
(scim2-filter-parser) emits SQL text for its own table layout, and scim2-models 0.12 parses paths, not
filters (decision 0077).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Union

from govern.scim.errors import InvalidFilter

COMPARISONS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32  # nested parentheses, not/and/or: a filter deeper than this is an attack, not a query

# schemas whose URN may prefix an attribute path; lower case, longest first so the enterprise extension wins
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
KNOWN_SCHEMAS = (ENTERPRISE_USER, CORE_USER, CORE_GROUP)


@dataclass(frozen=True)
class AttributePath:
    """`[schema:]attribute[.sub]`, names in lower case (SCIM names are case-insensitive); schema "" when not given."""

    schema: str
    attribute: str
    sub: str | None = None

    def __str__(self) -> str:
        name = f"{self.attribute}.{self.sub}" if self.sub else self.attribute
        return f"{self.schema}:{name}" if self.schema else name


@dataclass(frozen=True)
class Compare:
    path: AttributePath
    op: str  # one of COMPARISONS, lower case
    value: Any  # str, int, float, bool or None, as the JSON literal in the filter


@dataclass(frozen=True)
class Present:
    path: AttributePath


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class ValuePath:
    """`emails[type eq "work"]`: one value of a multi-valued attribute matches the inner filter (paths inside are sub-attributes)."""

    path: AttributePath
    inner: Node


Node = Union[Compare, Present, And, Or, Not, ValuePath]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<open>\() | (?P<close>\)) | (?P<lbracket>\[) | (?P<rbracket>\])
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w:.$-]))
    | (?P<word>[A-Za-z$][\w:.$-]*)
    )""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, word, open, close, lbracket, rbracket, end
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    tokens, at = [], 0
    while True:
        at = len(text) - len(text[at:].lstrip())
        if at == len(text):
            break
        match = _TOKEN.match(text, at)
        if match is None or match.lastgroup is None:
            raise InvalidFilter(f"unexpected {text[at:at + 20]!r} at position {at}")
        tokens.append(_Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        at = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def parse_path(text: str) -> AttributePath:
    """An attribute path as written in a filter or sortBy: `userName`, `name.familyName`, `<urn>:manager.value`."""
    lowered = text.strip().lower()
    schema = ""
    if lowered.startswith("urn:"):
        schema = next((known for known in KNOWN_SCHEMAS if lowered.startswith(known + ":")), "")
        if not schema:
            raise InvalidFilter(f"{text!r} names a schema govern does not know")
        lowered = lowered[len(schema) + 1:]
    attribute, _, sub = lowered.partition(".")
    name = re.compile(r"^[a-z$][\w$-]*$")
    if not name.match(attribute) or (sub and not name.match(sub)):
        raise InvalidFilter(f"{text!r} is not an attribute path")
    return AttributePath(schema, attribute, sub or None)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def expect(self, kind: str, what: str) -> _Token:
        token = self.take()
        if token.kind != kind:
            found = token.text or "the end"
            raise InvalidFilter(f"expected {what} at position {token.at}, found {found!r}")
        return token

    def parse(self) -> Node:
        node = self.or_expression()
        if self.peek().kind != "end":
            token = self.peek()
            raise InvalidFilter(f"unexpected {token.text!r} at position {token.at}; join expressions with and / or")
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidFilter(f"the filter nests deeper than {MAX_DEPTH} levels")

    def or_expression(self, inside: AttributePath | None = None) -> Node:
        node = self.and_expression(inside)
        while self.keyword("or"):
            self.take()
            node = Or(node, self.and_expression(inside))
        return node

    def and_expression(self, inside: AttributePath | None) -> Node:
        node = self.unary(inside)
        while self.keyword("and"):
            self.take()
            node = And(node, self.unary(inside))
        return node

    def unary(self, inside: AttributePath | None) -> Node:
        self.nested()
        try:
            if self.keyword("not"):
                self.take()
                self.expect("open", "( after not")
                node: Node = Not(self.or_expression(inside))
                self.expect("close", ")")
                return node
            if self.peek().kind == "open":
                self.take()
                node = self.or_expression(inside)
                self.expect("close", ")")
                return node
            return self.attribute_expression(inside)
        finally:
            self.depth -= 1

    def attribute_expression(self, inside: AttributePath | None) -> Node:
        token = self.expect("word", "an attribute name")
        if token.text.lower() in {"and", "or", "not"} | COMPARISONS | {"pr"}:
            raise InvalidFilter(f"expected an attribute name at position {token.at}, found {token.text!r}")
        path = parse_path(token.text)
        if inside is not None:  # inside brackets a name is a sub-attribute of the bracketed attribute
            if path.schema or path.sub:
                raise InvalidFilter(f"inside {inside.attribute}[...] name a sub-attribute only, not {token.text!r}")
            path = AttributePath(inside.schema, inside.attribute, path.attribute)
        if self.peek().kind == "lbracket":
            if inside is not None:
                raise InvalidFilter("a [...] filter cannot hold another one")
            if path.sub:
                raise InvalidFilter(f"{token.text}[...]: brackets follow a multi-valued attribute, not a sub-attribute")
            self.take()
            inner = self.or_expression(path)
            self.expect("rbracket", "]")
            return ValuePath(path, inner)
        operator = self.expect("word", f"an operator after {token.text}").text.lower()
        if operator == "pr":
            return Present(path)
        if operator not in COMPARISONS:
            raise InvalidFilter(f"{operator!r} is not a SCIM operator; use one of eq ne co sw ew gt ge lt le pr")
        return Compare(path, operator, self.value())

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            try:
                return json.loads(token.text)
            except json.JSONDecodeError:
                raise InvalidFilter(f"{token.text} is not a valid quoted string") from None
        if token.kind == "number":
            return json.loads(token.text)
        if token.kind == "word" and token.text.lower() in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[token.text.lower()]
        found = token.text or "the end"
        raise InvalidFilter(f'expected a value ("text", a number, true, false or null) at position {token.at}, found {found!r}')


def parse(text: str) -> Node:
    """The tree of a filter; InvalidFilter (400 invalidFilter) when it is not RFC 7644 filter syntax."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        raise InvalidFilter("the filter is empty")
    return _Parser(text).parse()

