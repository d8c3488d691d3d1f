"""Serve a built output folder with the media-server image API's URLs.

    python serve.py --output output --host 127.0.0.1 --port 8096

The routing, selection and caching logic lives in pipeline.server; this is the entry point.
"""

import argparse
import sys

from waitress import serve

from pipeline.server import App, load_credentials


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip() or None)
    parser.add_argument("--output", default="output", help="the built folder (default: output)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8096, help="port (default: 8096, Jellyfin's)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default: 8)")
    parser.add_argument("--strict-decorations", action="store_true",
                        help="answer 404 for a decoration (percentPlayed, blur, …) that was not "
                             "precomputed, instead of the plain image with an X-Image-Not-Applied header")
    parser.add_argument("--art19-credentials", metavar="FILE",
                        help="YAML list of {credential, token, buckets} that may read the ART19 "
                             "routes (/images, /media_assets); without it they are open")
    args = parser.parse_args(argv)
    try:
        credentials = load_credentials(args.art19_credentials) if args.art19_credentials else None
        app = App(args.output, strict_decorations=args.strict_decorations, art19_credentials=credentials)
    except (FileNotFoundError, ValueError) as exc:
        print(f"serve.py: {exc}", file=sys.stderr)
        return 2
    print(f"serving {app.output} on http://{args.host}:{args.port}/", flush=True)
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="pipeline-serve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
