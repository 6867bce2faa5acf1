"""The showcase application over real HTTP: every route, bodies large and
chunked, the error paths, a client leaving mid-stream and mid-body (the
application must see `http.disconnect` and return), 200 concurrent
requests; lifespan startup and shutdown are checked by the fixture."""

import asyncio
import socket
import time

import httpx
import pytest


def get(server, path):
    return httpx.get(server.url + path, timeout=10)


def test_hello(server):
    response = get(server, "/")
    assert response.status_code == 200
    assert response.text == "hello\n"
    assert response.headers["x-app"] == server.impl
    assert response.headers["content-type"] == "text/plain"


def test_authorize_says_no(server):
    response = get(server, "/private/data")
    assert (response.status_code, response.text) == (403, "forbidden\n")


def test_authorize_raises(server):
    response = get(server, "/boom")
    assert (response.status_code, response.text) == (500, "authorization hook failed\n")


def test_unknown_path_and_wrong_method(server):
    assert get(server, "/nowhere").status_code == 404
    assert httpx.post(server.url + "/", content=b"x", timeout=10).status_code == 405
    assert get(server, "/echo").status_code == 405
    assert httpx.post(server.url + "/stream", timeout=10).status_code == 405


@pytest.mark.parametrize("size", [0, 1, 65536, 65537, 900_000])
def test_echo(server, size):
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    response = httpx.post(server.url + "/echo", content=body, timeout=10)
    assert response.status_code == 200
    assert response.content == body


def _fnv1a(data):
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


@pytest.mark.parametrize("size", [0, 5, 300_000])
def test_hash_is_computed_on_a_worker_thread_while_the_loop_serves_others(server, size):
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))

    async def both():
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            return await asyncio.gather(client.post("/hash", content=body), client.get("/"))

    hashed, hello = asyncio.run(both())
    assert hashed.status_code == 200
    assert hashed.content == b"%016x\n" % _fnv1a(body)
    assert hello.content == b"hello\n"
    assert httpx.get(server.url + "/hash", timeout=10).status_code == 405

def test_echo_chunked_request(server):
    parts = [b"alpha-" * 1000, b"", b"beta-" * 5000, b"gamma"]

    def chunks():
        yield from parts

    response = httpx.post(server.url + "/echo", content=chunks(), timeout=10)
    assert response.status_code == 200
    assert response.content == b"".join(parts)


def test_body_over_the_limit(server):
    response = httpx.post(server.url + "/echo", content=b"z" * (2 << 20), timeout=10)
    assert (response.status_code, response.text) == (413, "body too large\n")


def test_stream_arrives_in_order(server):
    with httpx.stream("GET", server.url + "/stream?n=6&delay=5", timeout=10) as response:
        assert response.status_code == 200
        received = b"".join(response.iter_bytes())
    assert received == b"".join(b"chunk %d\n" % i for i in range(6))


def test_client_leaves_mid_stream(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /stream?n=200&delay=10 HTTP/1.1\r\nHost: test\r\n\r\n")
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    sock.close()
    # The application finishes or stops on its own; the server keeps serving.
    for _ in range(3):
        assert get(server, "/").text == "hello\n"


def test_client_leaves_mid_body_and_the_app_sees_the_disconnect(server):
    before = get(server, "/_observed").text.split()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100)
    sock.close()
    # The application is reading the body: its next receive() gets
    # http.disconnect, and it returns quietly (the fixture also checks that
    # the server logged no error). Waited for, not timed.
    deadline = time.monotonic() + 30
    while True:
        after = get(server, "/_observed").text.split()
        if int(after[1]) > int(before[1]) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [int(n) - int(m) for n, m in zip(after, before)] == [1, 1], (before, after)


def test_200_concurrent_requests(server):
    async def one(client, i):
        if i % 2:
            response = await client.post("/echo", content=b"request %d" % i)
            return response.status_code, response.content == b"request %d" % i
        response = await client.get("/")
        return response.status_code, response.text == "hello\n"

    async def main():
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            return await asyncio.gather(*[one(client, i) for i in range(200)])

    assert asyncio.run(main()) == [(200, True)] * 200


@pytest.mark.parametrize("impl", ["rust", "c"])
@pytest.mark.parametrize("loop", ["asyncio", "trio"])
def test_lifespan_protocol(impl, loop):
    import server as runner

    app = runner.make_app(impl, 1 << 20)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    outgoing = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        outgoing.append(message["type"])

    async def main():
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    if loop == "asyncio":
        asyncio.run(main())
    else:
        import trio

        trio.run(main)
    assert outgoing == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert incoming == []
