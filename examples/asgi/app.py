"""The showcase application in plain Python: the same behaviour as the Rust
(`asgi_native_rs`) and C (`asgi_native_c`) copies, for the load comparison
and as their readable specification.

    App(authorize, body_limit=1048576)(scope, receive, send)
"""

import anyio

CHUNK = 64 * 1024
ROUTES = ("/", "/echo", "/hash", "/stream")


def fnv1a(data):
    """The 64-bit FNV-1a hash."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


class App(object):
    def __init__(self, authorize, body_limit=1 << 20):
        self.authorize = authorize
        self.body_limit = body_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        if scope["type"] != "http":
            raise ValueError("unsupported scope type %r" % scope["type"])
        try:
            allowed = await self.authorize(scope)
        except Exception:
            return await respond(send, 500, [b"authorization hook failed\n"])
        if not allowed:
            return await respond(send, 403, [b"forbidden\n"])
        method, path = scope["method"], scope["path"]
        if (method, path) == ("GET", "/"):
            await respond(send, 200, [b"hello\n"])
        elif (method, path) in (("POST", "/echo"), ("POST", "/hash")):
            body = b""
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > self.body_limit:
                    return await respond(send, 413, [b"body too large\n"])
                if not message.get("more_body", False):
                    break
            if path == "/hash":
                value = await anyio.to_thread.run_sync(fnv1a, body)
                return await respond(send, 200, [b"%016x\n" % value])
            chunks = [body[i:i + CHUNK] for i in range(0, len(body), CHUNK)] or [b""]
            await respond(send, 200, chunks)
        elif (method, path) == ("GET", "/stream"):
            query = dict(pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair)
            count = int(query.get("n", 5))
            delay = int(query.get("delay", 0)) / 1000
            await sent(send, start(200))
            for index in range(count):
                await anyio.sleep(delay)
                await sent(send, body(("chunk %d\n" % index).encode(), True))
            await sent(send, body(b"", False))
        elif path in ROUTES:
            await respond(send, 405, [b"method not allowed\n"])
        else:
            await respond(send, 404, [b"not found\n"])


def start(status):
    headers = [(b"content-type", b"text/plain"), (b"x-app", b"python")]
    return {"type": "http.response.start", "status": status, "headers": headers}


def body(chunk, more):
    return {"type": "http.response.body", "body": chunk, "more_body": more}


class _Gone(Exception):
    pass


async def sent(send, message):
    try:
        await send(message)
    except OSError:
        raise _Gone()


async def respond(send, status, chunks):
    try:
        await sent(send, start(status))
        for i, chunk in enumerate(chunks):
            await sent(send, body(chunk, i < len(chunks) - 1))
    except _Gone:
        pass


async def lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
