#!/usr/bin/env python3
"""NHS England's mesh-client (5.0.2) as the independent peer in interoperability tests and benchmarks.

Driven from jest (test/integration/mesh/interop.test.ts) and bench/mesh-bench.ts through child_process.
Every command prints one JSON object on stdout. Bodies travel through files, never through stdout.

  token    --key K --mailbox M --password P --nonce N --count C --timestamp yyyymmddHHMM
  send     --url U --key K --mailbox M --to T --workflow W --file F [--chunk-size N] [--compress]
           [--filename F] [--subject S] [--local-id L] [--content-type C]
  receive  --url U --key K --mailbox M --id ID --out F [--no-ack]
  bench    --url U --key K --sender M --recipient R --size BYTES --count N [--chunk-size N]
"""
import argparse
import datetime as dt
import json
import os
import resource
import sys
import time

import mesh_client
from mesh_client import AuthTokenGenerator, MeshClient


def client(args, mailbox):
    return MeshClient(args.url, mailbox, "password", shared_key=args.key.encode(), max_retries=0)


def cmd_token(args):
    fixed = dt.datetime.strptime(args.timestamp, "%Y%m%d%H%M").replace(tzinfo=dt.timezone.utc)

    class FixedDateTime(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return fixed

    # mesh-client's own generator, with its clock and nonce pinned so the output is a test vector.
    original = mesh_client.dt.datetime
    mesh_client.dt.datetime = FixedDateTime
    try:
        gen = AuthTokenGenerator(args.key.encode(), args.mailbox, args.password)
        gen._nonce = args.nonce
        gen._nonce_count = args.count
        token = gen.generate_token()
        # and one unpinned token, to be re-derived by the TypeScript side from its public fields
    finally:
        mesh_client.dt.datetime = original
    live = AuthTokenGenerator(args.key.encode(), args.mailbox, args.password).generate_token()
    return {"token": token, "live": live}


def cmd_send(args):
    with open(args.file, "rb") as f:
        data = f.read()
    kwargs = {"workflow_id": args.workflow}
    for name in ("filename", "subject", "local_id", "content_type"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    with client(args, args.mailbox) as c:
        mid = c.send_message(args.to, data, max_chunk_size=args.chunk_size, compress=args.compress, **kwargs)
    return {"message_id": mid}


def cmd_receive(args):
    with client(args, args.mailbox) as c:
        msg = c.retrieve_message(args.id)
        body = msg.read()
        with open(args.out, "wb") as f:
            f.write(body)
        result = {
            "message_id": msg.id(),
            "message_type": msg.message_type,
            "sender": msg.sender,
            "recipient": msg.recipient,
            "workflow_id": msg.workflow_id,
            "filename": msg.filename,
            "local_id": msg.local_id,
            "subject": msg.subject,
            "content_type": msg.content_type,
            "size": len(body),
            "mex": dict(msg.mex_headers()),
        }
        msg.close()
        if not args.no_ack:
            msg.acknowledge()
    return result


def cmd_bench(args):
    """Send `count` messages of `size` bytes from sender to recipient, then receive and acknowledge them all."""
    payload = os.urandom(args.size)
    workflow = f"BENCH_PY_{os.getpid()}"
    ids = []
    cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    with client(args, args.sender) as sender, client(args, args.recipient) as recipient:
        start = time.perf_counter()
        for i in range(args.count):
            ids.append(sender.send_message(args.recipient, payload, workflow_id=workflow, max_chunk_size=args.chunk_size))
        sent = time.perf_counter()
        received = 0
        for mid in recipient.iterate_message_ids(workflow_filter=workflow):
            msg = recipient.retrieve_message(mid)
            data = msg.read()
            if len(data) != args.size:
                raise SystemExit(f"size mismatch for {mid}: {len(data)}")
            msg.close()
            msg.acknowledge()
            received += 1
        done = time.perf_counter()
    if received != args.count:
        raise SystemExit(f"received {received} of {args.count}")

    return {
        "sendSeconds": sent - start,
        "receiveSeconds": done - sent,
        "totalSeconds": done - start,
        "cpuSeconds": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0,
        "count": args.count,
        "size": args.size,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("token")
    t.add_argument("--key", required=True)
    t.add_argument("--mailbox", required=True)
    t.add_argument("--password", required=True)
    t.add_argument("--nonce", required=True)
    t.add_argument("--count", type=int, required=True)
    t.add_argument("--timestamp", required=True)
    for name in ("send", "receive", "bench"):
        s = sub.add_parser(name)
        s.add_argument("--url", required=True)
        s.add_argument("--key", required=True)
    s = sub.choices["send"]
    s.add_argument("--mailbox", required=True)
    s.add_argument("--to", required=True)
    s.add_argument("--workflow", required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--chunk-size", type=int, default=None)
    s.add_argument("--compress", action="store_true")
    s.add_argument("--filename")
    s.add_argument("--subject")
    s.add_argument("--local-id", dest="local_id")
    s.add_argument("--content-type", dest="content_type")
    r = sub.choices["receive"]
    r.add_argument("--mailbox", required=True)
    r.add_argument("--id", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--no-ack", action="store_true")
    b = sub.choices["bench"]
    b.add_argument("--sender", required=True)
    b.add_argument("--recipient", required=True)
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--chunk-size", type=int, default=None)
    args = p.parse_args()
    result = {"token": cmd_token, "send": cmd_send, "receive": cmd_receive, "bench": cmd_bench}[args.cmd](args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
