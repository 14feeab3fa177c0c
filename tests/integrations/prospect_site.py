"""A fake prospect directory served on 127.0.0.1 for the browser tests: a search form,
paginated results and profile pages, plus pages that try to reach a private address.

Never a real site. ``PROSPECTS`` is the data the tests expect the tools to collect.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROSPECTS = [
    {"name": "Anna Schmidt", "title": "CTO", "company": "Kiezware", "city": "Berlin"},
    {"name": "Jonas Weber", "title": "CTO", "company": "Spreeloop", "city": "Berlin"},
    {"name": "Lena Fischer", "title": "VP Engineering", "company": "Hafenbits", "city": "Hamburg"},
    {"name": "Marta Nowak", "title": "CTO", "company": "Tiergarten AI", "city": "Berlin"},
    {"name": "Paul Becker", "title": "CTO", "company": "Isarcode", "city": "Munich"},
    {"name": "Sofia Rossi", "title": "CTO", "company": "Mauerpark Labs", "city": "Berlin"},
    {"name": "Tim Hoffmann", "title": "Head of Data", "company": "Kiezware", "city": "Berlin"},
    {"name": "Ute Krause", "title": "CTO", "company": "Wedding Works", "city": "Berlin"},
]
PAGE_SIZE = 2


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


def matches(query: str, city: str) -> list[dict[str, str]]:
    q, c = query.lower().strip(), city.lower().strip()
    return [
        p
        for p in PROSPECTS
        if (not q or q in p["title"].lower() or q in p["name"].lower())
        and (not c or c == p["city"].lower())
    ]


@dataclass
class Hits:
    """Paths each server was asked for (the private one must stay empty)."""

    paths: list[str] = field(default_factory=list)


def _handler(hits: Hits, private_base: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            hits.paths.append(self.path)
            url = urlsplit(self.path)
            qs = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/":
                self._send(
                    _page(
                        "Prospect Directory",
                        '<form action="/search" method="get">'
                        '<input type="search" name="q" placeholder="Title or name">'
                        '<select name="city"><option value="">any city</option>'
                        '<option value="berlin">Berlin</option></select>'
                        '<button type="submit" id="go">Search</button></form>'
                        '<p><a href="/search?q=">Browse everyone</a></p>',
                    )
                )
            elif url.path == "/search":
                self._results(qs.get("q", ""), qs.get("city", ""), int(qs.get("page", "1")))
            elif url.path.startswith("/people/"):
                index = int(url.path.rsplit("/", 1)[1])
                p = PROSPECTS[index]
                self._send(
                    _page(
                        p["name"],
                        f'<p class="title">{p["title"]} at {p["company"]}</p>'
                        f'<p class="city">Based in {p["city"]}.</p>',
                    )
                )
            elif url.path == "/to-private":
                self.send_response(302)
                self.send_header("Location", f"{private_base}/secret")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif url.path == "/embeds-private":
                self._send(
                    _page(
                        "Embeds",
                        f'<img src="{private_base}/pixel.png"><p>An image from a private host.</p>',
                    )
                )
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def _results(self, query: str, city: str, page: int) -> None:
            found = matches(query, city)
            start = (page - 1) * PAGE_SIZE
            rows = "".join(
                f'<div class="person"><a class="name" href="/people/{PROSPECTS.index(p)}">'
                f'{p["name"]}</a><span class="title">{p["title"]}</span>'
                f'<span class="company">{p["company"]}</span><span class="city">{p["city"]}</span></div>'
                for p in found[start : start + PAGE_SIZE]
            )
            more = start + PAGE_SIZE < len(found)
            nxt = (
                f'<a class="next" href="/search?q={query}&city={city}&page={page + 1}">Next page</a>'
                if more
                else ""
            )
            self._send(_page(f"{len(found)} results for {query}", rows + f"<nav>{nxt}</nav>"))

        def _send(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@dataclass
class Site:
    base: str
    hits: Hits
    private_base: str
    private_hits: Hits


@contextmanager
def serve_site() -> Iterator[Site]:
    """The directory on 127.0.0.1 and a 'private' server on 127.0.0.2 it points at."""
    private_hits = Hits()
    private = ThreadingHTTPServer(("127.0.0.2", 0), _handler(private_hits, ""))
    private_base = f"http://127.0.0.2:{private.server_address[1]}"
    hits = Hits()
    public = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hits, private_base))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (public, private)]
    for t in threads:
        t.start()
    try:
        yield Site(f"http://127.0.0.1:{public.server_address[1]}", hits, private_base, private_hits)
    finally:
        for s in (public, private):
            s.shutdown()
            s.server_close()
