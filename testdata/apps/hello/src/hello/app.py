"""The hello web app and its console script."""

import argparse
import sys

import flask
import markupsafe

app = flask.Flask(__name__)


@app.route("/")
def index():
    name = flask.request.args.get("name", "world")
    return f"Hello, {markupsafe.escape(name)}!\n"


def check():
    """Serve one request in-process; prove the compiled dependency is the one in use."""
    response = app.test_client().get("/?name=<pyship>")
    body = response.get_data(as_text=True)
    if response.status_code != 200 or body != "Hello, &lt;pyship&gt;!\n":
        print(f"unexpected response {response.status_code}: {body!r}", file=sys.stderr)
        return 1
    from markupsafe import _speedups  # noqa: F401  (fails if the compiled wheel is missing)

    print(f"ok: {sys.prefix}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hello-serve", description=__doc__)
    parser.add_argument("--check", action="store_true", help="serve one request and exit")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.check:
        return check()
    app.run(host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
