"""griffe extension: the API reference shows `Workflows` / `AsyncWorkflows` methods as called.

An endpoint is defined once (`client/endpoints/`) as a method returning a `Call[T]`, and the
`endpoint` descriptor binds it as a blocking method on `Workflows` and a coroutine method on
`AsyncWorkflows`, both returning `T` (`prefect_imbrace.client._resource`). The docs are read
statically, so without this they would show the definition (`-> Call[T]`, on the mixin classes)
instead of the methods users call. This adds, to each of the two classes, one method per
endpoint with the definition's parameters and docstring, returning `T` (labelled `async` on
`AsyncWorkflows`), and one per `iter_x = paged(list_x)` returning `Pager[T]` / `AsyncPager[T]`.
"""

from __future__ import annotations

from typing import Any

import griffe

from prefect_imbrace.client._resource import ITER_PAGE_SIZE, iter_doc

CLASSES = {
    "prefect_imbrace.client.workflows.Workflows": ("Pager", set()),
    "prefect_imbrace.client.workflows.AsyncWorkflows": ("AsyncPager", {"async"}),
}


def _is_endpoint(member: griffe.Object) -> bool:
    return isinstance(member, griffe.Function) and any(
        str(decorator.value).endswith("endpoint") for decorator in member.decorators
    )


def _paged_listing(member: griffe.Object) -> str | None:
    """`list_x` for `iter_x = paged(list_x)`, else None."""
    value = str(getattr(member, "value", "") or "")
    if isinstance(member, griffe.Attribute) and value.startswith("paged(") and value.endswith(")"):
        return value[len("paged(") : -1]
    return None


def _inner(annotation: Any, outer: str) -> Any:
    """`outer[X]` -> `X` (the annotation itself when it is not `outer[...]`)."""
    if isinstance(annotation, griffe.ExprSubscript) and str(annotation.left) == outer:
        return annotation.slice
    return annotation


def _method(
    name: str,
    source: griffe.Function,
    parent: griffe.Class,
    *,
    returns: str | griffe.Expr | None,
    labels: set[str],
    docstring: str | None,
    parameters: griffe.Parameters | None = None,
) -> griffe.Function:
    method = griffe.Function(
        name,
        lineno=source.lineno,
        endlineno=source.endlineno,
        parameters=parameters or source.parameters,
        returns=returns,
    )
    method.labels |= labels
    method.parent = parent
    if docstring:
        method.docstring = griffe.Docstring(docstring, parent=method)
    return method


def _iter_parameters(listing: griffe.Function) -> griffe.Parameters:
    """The listing's parameters, with `limit` defaulting to the pager's page size."""
    return griffe.Parameters(
        *(
            griffe.Parameter(
                p.name,
                annotation=p.annotation,
                kind=p.kind,
                default=str(ITER_PAGE_SIZE) if p.name == "limit" else p.default,
                docstring=p.docstring,
            )
            for p in listing.parameters
        )
    )


class EndpointSignatures(griffe.Extension):
    """Adds the bound endpoint methods to `Workflows` and `AsyncWorkflows` (see module doc)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.path != "prefect_imbrace":
            return
        for path, (pager, labels) in CLASSES.items():
            cls = pkg.modules_collection.get_member(path)
            inherited = {name: alias.final_target for name, alias in cls.inherited_members.items()}
            for name, member in inherited.items():
                if _is_endpoint(member):
                    doc = member.docstring.value if member.docstring else None
                    returns = _inner(member.returns, "Call")
                    method = _method(
                        name, member, cls, returns=returns, labels=labels, docstring=doc
                    )
                elif (listing_name := _paged_listing(member)) is not None:
                    listing = inherited[listing_name]
                    item = _inner(_inner(listing.returns, "Call"), "SeekPage")
                    doc = iter_doc(listing_name)
                    method = _method(
                        name,
                        listing,
                        cls,
                        returns=f"{pager}[{item}]",
                        labels=set(),
                        docstring=doc,
                        parameters=_iter_parameters(listing),
                    )
                else:
                    continue
                cls.set_member(name, method)
