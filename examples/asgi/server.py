"""Serves one copy of the showcase application on 127.0.0.1.

    python server.py --impl rust|c|python --server uvicorn|hypercorn --port N

uvicorn runs on asyncio, hypercorn with its trio worker. Both are told the
application speaks ASGI 3: they cannot tell from a native callable.

`authorize` allows every request except paths under /private, and raises
for paths under /boom, so each branch can be reached over HTTP.

With --observe (the tests), the application is wrapped by `Observed`, which
watches what it receives and answers GET /_observed itself; the load runs
serve the application alone.
"""

import argparse
import signal


async def authorize(scope):
    if scope["path"].startswith("/boom"):
        raise RuntimeError("hook failed on purpose")
    return not scope["path"].startswith("/private")


class Observed(object):
    """The application, watched from outside: how many `http.disconnect`
    messages it received, and how many of those calls then returned without
    an exception. GET /_observed answers "<received> <returned>"."""

    def __init__(self, app):
        self.app = app
        self.received = 0
        self.returned = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/_observed":
            text = ("%d %d\n" % (self.received, self.returned)).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": text})
            return
        disconnected = []

        async def watched():
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.append(message)
                self.received += 1
            return message

        await self.app(scope, watched, send)
        if disconnected:
            self.returned += 1


def make_app(impl, body_limit):
    if impl == "rust":
        from asgi_native_rs import App
    elif impl == "c":
        from asgi_native_c import App
    else:
        from app import App
    return App(authorize, body_limit=body_limit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=("rust", "c", "python"), default="rust")
    parser.add_argument("--server", choices=("uvicorn", "hypercorn"), default="uvicorn")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-limit", type=int, default=1 << 20)
    parser.add_argument("--observe", action="store_true")
    args = parser.parse_args()
    app = make_app(args.impl, args.body_limit)
    if args.observe:
        app = Observed(app)
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=args.port, interface="asgi3",
                    log_level="warning", lifespan="on")
    else:
        import trio
        from hypercorn.config import Config
        from hypercorn.trio import serve

        config = Config()
        config.bind = ["127.0.0.1:%d" % args.port]
        config.loglevel = "WARNING"

        async def stopped():
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    return

        trio.run(lambda: serve(app, config, mode="asgi", shutdown_trigger=stopped))


if __name__ == "__main__":
    main()
