"""The baseline for bench/ingest.py: a bare Flask POST endpoint.

It reads the body and answers JSON, nothing else, so the ratio real ÷ bare
shows what verify + de-duplicate + store + enqueue costs on top of Flask and
gunicorn themselves.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/line")
def webhook():  # type: ignore[no-untyped-def]
    request.get_data()
    return jsonify({"ok": True})


@app.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify({"status": "ok"})
