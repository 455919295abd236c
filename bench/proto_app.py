"""A second yardstick for bench/ingest.py: the 25-line prototype of the webhook path.

Verify the signature (hmac), parse the JSON, INSERT each event with its id as
the key (ON CONFLICT DO NOTHING), answer 200: no validation, no grouping, one
driver connection per process. The issue's target ratio was set with such a
prototype, so measuring it beside the real endpoint shows what the machine
allows today.
"""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
from typing import Any

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
INSERT = ("INSERT INTO proto_events (event_key, lane, payload)"
          " VALUES ({m}, {m}, {m}) ON CONFLICT (event_key) DO NOTHING")
opened: dict[str, Any] = {}  # the process's one connection


def connect(url: str):  # type: ignore[no-untyped-def]
    if url.startswith("postgresql"):
        # Durable before the 200, as the real path's commits are (db.accept).
        conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        conn.execute("SET synchronous_commit = on")
        return conn
    conn = sqlite3.connect(url.removeprefix("sqlite:///") + ".proto", isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def prepare(url: str) -> None:
    """Its table, made before the server starts (its own, so the real app's counts
    stay the real app's)."""
    with connect(url) as made:
        if isinstance(made, sqlite3.Connection):
            made.execute("PRAGMA journal_mode=WAL")
        id_type = "SERIAL" if isinstance(made, psycopg.Connection) else "INTEGER"
        made.execute(f"CREATE TABLE IF NOT EXISTS proto_events (id {id_type} PRIMARY KEY,"
                     " event_key VARCHAR(200) UNIQUE, lane VARCHAR(200), payload TEXT)")


@app.post("/webhooks/line")
def webhook():  # type: ignore[no-untyped-def]
    body = request.get_data()
    secret = os.environ["LINE_CHANNEL_SECRET"].encode()
    digest = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(digest, request.headers.get("X-Line-Signature", "")):
        return jsonify({"error": "signature"}), 403
    events = json.loads(body)["events"]
    if not opened:
        opened["conn"] = connect(os.environ["DATABASE_URL"])
    conn = opened["conn"]
    sql = INSERT.format(m="%s" if isinstance(conn, psycopg.Connection) else "?")
    for event in events:
        conn.execute(sql, ("event:line:" + event["webhookEventId"],
                      "ingest:line:" + event["source"]["userId"],
                      json.dumps(event, ensure_ascii=False)))
    return jsonify({"ok": True})


@app.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify({"status": "ok"})
