"""Tags per language, identifier splitting and token counts."""

from __future__ import annotations

import marshal

import pytest

from codeagent.context.tags import DEFNAMES, DEFS, REFNAMES, SKIPPED, TERMS, extract
from codeagent.context.text import query_terms, split_identifier
from codeagent.context.tokens import count_tokens, estimate_tokens, exact

SAMPLES = {
    "a.py": (
        b"class Cart(Base):\n    def add_item(self, item: Item) -> None:\n        validate(item)\n\nLIMIT = 3\n",
        {"Cart", "add_item", "LIMIT"}, {"Base", "Item", "validate"},
    ),
    "a.js": (
        b"class Cart extends Base {\n  addItem(item) { validate(item); }\n}\nfunction total() { return new Money(); }\nconst f = () => 1;\n",
        {"Cart", "addItem", "total", "f"}, {"Base", "validate", "Money"},
    ),
    "a.ts": (
        b"interface Shape { area(): number }\ntype Id = string;\nenum Color { Red }\nexport class Box implements Shape {\n  area(): number { return compute(this); }\n}\n",
        {"Shape", "Id", "Color", "Box", "area"}, {"compute"},
    ),
    "a.tsx": (
        b"export function Button(props: Props) { return <div>{render(props)}</div>; }\n",
        {"Button"}, {"Props", "render"},
    ),
    "a.go": (
        b"package main\n\ntype Server struct{}\n\nfunc (s *Server) Serve() error { return listen() }\n\nfunc NewServer() *Server { return &Server{} }\n",
        {"Server", "Serve", "NewServer"}, {"listen"},
    ),
    "a.rs": (
        b"pub struct Parser;\ntrait Parse { fn parse(&self); }\nimpl Parser { pub fn new() -> Self { build() } }\nmacro_rules! m { () => {} }\n",
        {"Parser", "Parse", "parse", "new", "m"}, {"build"},
    ),
    "A.java": (
        b"public class Account extends Base {\n  public Account() {}\n  void deposit(Money m) { ledger.record(m); }\n}\n",
        {"Account", "deposit"}, {"Base", "Money", "record"},
    ),
    "a.c": (
        b"struct point { int x; };\ntypedef int score_t;\n#define MAX 3\nint area(struct point *p) { return scale(p->x); }\n",
        {"point", "score_t", "MAX", "area"}, {"scale"},
    ),
    "a.cpp": (
        b"namespace geo {\nclass Shape {\n public:\n  double area() const;\n};\ndouble Shape::area() const { return compute(); }\n}\n",
        {"geo", "Shape", "area"}, {"compute"},
    ),
}


@pytest.mark.parametrize("path", sorted(SAMPLES))
def test_each_language_yields_definitions_and_references(path):
    data, defs, refs = SAMPLES[path]
    record = extract(path, data)
    assert record[SKIPPED] == ""
    assert defs <= set(record[DEFNAMES].split()), record[DEFNAMES]
    assert refs <= set(record[REFNAMES].split()), record[REFNAMES]


def test_definition_headers_and_nesting():
    data = b"class Cart:\n    def add(\n        self,\n        item,\n    ):\n        pass\n"
    defs = marshal.loads(extract("cart.py", data)[DEFS])
    cart, add = defs
    assert cart[:3] == ("Cart", "class", 0) and cart[4] == -1
    assert add[0] == "add" and add[4] == 0  # nested in Cart
    assert add[5] == "    def add(\n        self,\n        item,"  # header capped at 3 lines


def test_binary_content_and_unknown_languages():
    assert extract("x.py", b"\x00\x01\x02")[SKIPPED] == "binary"
    record = extract("notes.txt", b"The InvoiceTotal is wrong")
    assert record[DEFNAMES] == "" and " invoicetotal:1 " in record[TERMS]


def test_identifier_splitting():
    assert split_identifier("getUserName") == ("getusername", "get", "user", "name")
    assert split_identifier("get_user_names") == ("get_user_name", "get", "user", "name")
    assert split_identifier("HTTPServer") == ("httpserver", "http", "server")
    assert split_identifier("x") == ()
    assert query_terms("Fix the getUserName bug in user names") == ["getusername", "get", "user", "name", "bug"]


def test_token_counts_are_exact_and_fast():
    assert exact()
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|>") > 1  # special-token text is plain text here
    assert estimate_tokens("abcdefgh") == 2


def test_a_definitions_own_name_is_not_a_reference():
    record = extract("a.go", b"package main\n\ntype Server struct{}\n\ntype Client struct{ s *Server }\n")
    assert set(record[DEFNAMES].split()) == {"Server", "Client"}
    assert record[REFNAMES].split() == ["Server"]  # used once, inside Client
