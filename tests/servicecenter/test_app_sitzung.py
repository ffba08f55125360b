"""Every route gets its DB session with scope "function": committed before the response leaves."""

from fastapi.routing import APIRoute


def _abhaengigkeiten(dependant):
    for sub in dependant.dependencies:
        yield sub
        yield from _abhaengigkeiten(sub)


def _routen(routen):
    for route in routen:
        unter = getattr(route, "original_router", None)  # routers included lazily by FastAPI
        if unter is not None:
            yield from _routen(unter.routes)
        else:
            yield route


def test_sitzung_wird_vor_der_antwort_committet(app):
    get_session = app.state.get_session
    geprueft = 0
    for route in _routen(app.router.routes):
        if not isinstance(route, APIRoute):
            continue
        for dep in _abhaengigkeiten(route.dependant):
            if dep.call is get_session:
                geprueft += 1
                assert dep.scope == "function", f"{route.path}: Depends(get_session) ohne scope='function'"
    assert geprueft >= 20
