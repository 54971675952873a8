"""No module of govern imports itself back through others (issue 14): every arrow points one way.

Imports only a type checker reads (`if TYPE_CHECKING:`) are left out, as in the import-linter contracts.
"""

from __future__ import annotations

import grimp


def _circles(graph) -> set[tuple[str, ...]]:
    circles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                circles.add(tuple(sorted(set(back))))
    return circles


def test_no_module_of_govern_imports_itself_back():
    graph = grimp.build_graph("govern", exclude_type_checking_imports=True)

    assert _circles(graph) == set()


def test_the_check_finds_a_circle_when_there_is_one():
    graph = grimp.ImportGraph()
    for module in ("govern", "govern.a", "govern.b", "govern.c"):
        graph.add_module(module)
    graph.add_import(importer="govern.a", imported="govern.b")
    graph.add_import(importer="govern.b", imported="govern.c")
    graph.add_import(importer="govern.c", imported="govern.a")

    assert _circles(graph) == {("govern.a", "govern.b", "govern.c")}
