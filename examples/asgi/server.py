"""Serves one copy of the showcase application on 127.0.0.1.

    python server.py --impl rust|c|python --server uvicorn|hypercorn --port N

uvicorn runs on asyncio, hypercorn with its trio worker. Both are told the
application speaks ASGI 3: they cannot tell from a native callable.

`authorize` allows every request except paths under /private, and raises
for paths under /boom, so each branch can be reached over HTTP.
"""

import argparse
import signal


async def authorize(scope):
    if scope["path"].startswith("/boom"):
        raise RuntimeError("hook failed on purpose")
    return not scope["path"].startswith("/private")


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
    args = parser.parse_args()
    app = make_app(args.impl, args.body_limit)
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
