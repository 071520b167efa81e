"""Upload of a 20 MB file as a clerk does it: time and peak memory, local folder and S3.

    python bench/bench_upload.py                    # SQLite in /tmp, 20 MB, 3 runs each
    python bench/bench_upload.py --mb 50 --runs 5
    python bench/bench_upload.py --pg postgresql+psycopg://postgres@127.0.0.1/cd_bench_h

Every measurement runs in a FRESH Python process (``resource.getrusage`` gives the peak RSS
of that process alone), which first sets up the same app, database, user and complaint:

- ``floor``: the setup, then the file read in chunks and hashed (SHA-256) into a copy on
  disk: the least any upload does. Its peak RSS is the baseline;
- ``local``: POST /admin/complaint/attachments/add/ through the Flask test client and the
  real view (multipart parsing, spooling, type detection, storage in a local folder, the
  row and its event), the file streamed from disk into the request;
- ``s3floor``: ``floor`` with the S3 client made (boto3 loaded: ~25 MiB of code);
- ``s3``: the same upload into S3-compatible storage: moto's server, in a process of its
  own so that the objects it keeps in memory are not counted.

Streamed, not held in memory: peak RSS of ``local``/``s3`` minus ``floor`` stays far below
the file size (a file held once would add 20 MB; held twice 40 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_file(path: Path, mb: int) -> None:
    with open(path, "wb") as out:
        out.write(b"%PDF-1.4\n")
        block = os.urandom(1024 * 1024)
        for _ in range(mb):
            out.write(block)


def _setup(db_url: str, extra: dict):
    """App, migrated database, a QA handler and a complaint assigned to them."""
    sys.path.insert(0, str(ROOT))
    from datetime import datetime

    from flask_migrate import upgrade

    from app import create_app

    config = {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True,
              "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SERVER_NAME": "localhost",
              "ATTACHMENT_MAX_BYTES": 200 * 1024 * 1024,
              "ATTACHMENT_MAX_TOTAL_BYTES": 10 * 1024**3}
    config.update(extra)
    app = create_app(config)
    with app.app_context():
        upgrade()
        from models import Complaint, Department, db
        from services.auth import create_user

        suffix = str(os.getpid())
        dept = Department(code=f"QA{suffix}", name="质量管理部", is_customer_service=False,
                          active=True)
        db.session.add(dept)
        db.session.commit()
        user = create_user(f"bench_{suffix}", "Bench", "handler", "bench-pass-123",
                           department_id=dept.id)
        now = datetime(2026, 11, 30, 9, 0)
        complaint = Complaint(number=f"TS-BENCH-{suffix}", received_at=now, customer_name="张三",
                              title="冰箱不制冷", status="in_progress", department_id=dept.id,
                              assignee_id=user.id, created_at=now, updated_at=now)
        db.session.add(complaint)
        db.session.commit()
        return app, user.username, complaint.id


def measure(mode: str, db_url: str, path: str, extra: dict) -> dict:
    import hashlib
    import re
    import resource

    app, username, cid = _setup(db_url, extra)
    size = os.path.getsize(path)
    start = time.perf_counter()
    if mode in ("floor", "s3floor"):
        if mode == "s3floor":  # the S3 client made (boto3 loaded), nothing sent
            with app.app_context():
                from services.storage import storage
                storage().client.list_buckets()
        digest = hashlib.sha256()
        with open(path, "rb") as src, tempfile.NamedTemporaryFile() as out:
            while block := src.read(256 * 1024):
                digest.update(block)
                out.write(block)
    else:
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        client.post("/login", data={"username": username, "password": "bench-pass-123",
                                    "csrf_token": token})
        page = client.get(f"/admin/complaint/details/?id={cid}").get_data(as_text=True)
        token = re.search(r'attachment-upload">\s*<input[^>]*value="([^"]+)"', page).group(1)
        start = time.perf_counter()  # the upload alone
        with open(path, "rb") as src:
            response = client.post(f"/admin/complaint/attachments/add/?id={cid}",
                                   data={"csrf_token": token, "file": (src, "report.pdf")},
                                   content_type="multipart/form-data")
        assert response.status_code == 302, response.status_code
        with app.app_context():
            from sqlalchemy import select

            from models import Attachment, db
            got = db.session.scalar(select(Attachment.size).where(
                Attachment.complaint_id == cid).order_by(Attachment.id.desc()))
        assert got == size, (got, size)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "wall_s": wall, "peak_mib": peak}


def _run(mode, db_url, path, extra) -> dict:
    out = subprocess.run([PYTHON, __file__, "--measure", mode, "--db", db_url, "--file", path,
                          "--extra", json.dumps(extra)], capture_output=True, text=True,
                         cwd=ROOT, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="an empty PostgreSQL database URL (default: SQLite)")
    parser.add_argument("--measure")
    parser.add_argument("--db")
    parser.add_argument("--file")
    parser.add_argument("--extra", default="{}")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.db, args.file, json.loads(args.extra))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "upload.pdf"
        _make_file(path, args.mb)
        db_url = args.pg or f"sqlite:///{tmp / 'bench.sqlite'}"
        port = _free_port()
        moto = subprocess.Popen(
            [PYTHON, "-c", "import time; from moto.server import ThreadedMotoServer; "
             f"s = ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False); "
             "s.start(); time.sleep(86400)"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import boto3
            s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                              region_name="us-east-1", aws_access_key_id="t",
                              aws_secret_access_key="t")
            for _ in range(100):
                try:
                    s3.create_bucket(Bucket="bench")
                    break
                except Exception:  # noqa: BLE001 - the server is still starting
                    time.sleep(0.1)
            s3_config = {"STORAGE_S3_BUCKET": "bench",
                         "STORAGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                         "STORAGE_S3_ACCESS_KEY": "t", "STORAGE_S3_SECRET_KEY": "t"}
            extras = {"floor": {"STORAGE_LOCAL_DIR": str(tmp / "files")}, "s3floor": s3_config,
                      "local": {"STORAGE_LOCAL_DIR": str(tmp / "files")},
                      "s3": s3_config}
            print(f"upload of {args.mb} MB ({'PostgreSQL' if args.pg else 'SQLite'}), "
                  f"{args.runs} runs each, fresh process per run")
            results = {}
            for mode in ("floor", "local", "s3floor", "s3"):
                runs = [_run(mode, db_url, str(path), extras[mode]) for _ in range(args.runs)]
                results[mode] = runs
                walls = [r["wall_s"] for r in runs]
                peaks = [r["peak_mib"] for r in runs]
                print(f"  {mode:7s} wall median {statistics.median(walls):6.3f} s "
                      f"(min {min(walls):.3f})   peak RSS median "
                      f"{statistics.median(peaks):6.1f} MiB")
            for mode, base in (("local", "floor"), ("s3", "s3floor")):
                floor = statistics.median(r["peak_mib"] for r in results[base])
                extra_mib = statistics.median(r["peak_mib"] for r in results[mode]) - floor
                print(f"  {mode}: peak RSS above {base} {extra_mib:+.1f} MiB "
                      f"(the file is {args.mb} MiB)")
        finally:
            moto.terminate()
            moto.wait(timeout=10)


if __name__ == "__main__":
    main()
