#!/usr/bin/env python3
"""A seed-style Python consumer: the throughput PEER of the traceledger worker in scripts/bench.sh --matrix.

Fair and correct, not a strawman:
  * confluent-kafka (librdkafka) consumer, its own group, auto commit off; per poll a batch of up to
    --batch records (consume(num_messages)), decoded with opentelemetry-proto (upb protobuf);
  * spans priced by docs/pricing.md for what the load uses (upstream cost.usd, compute on entry spans,
    serverless GB-seconds + invocation, LLM tokens with cache reads/writes, excluded environments,
    end < start clamped), exactly with fractions, rounded once per span half to even to nano-USD;
  * per batch ONE transaction: COPY of the per-trace deltas into a temp table, then an additive upsert
    (cost = t.cost + EXCLUDED.cost), and the partitions' next offsets in the same transaction;
  * on assignment the offsets are read from its own table (exactly-once across restarts).
  * OTLP/JSON records (header `content-type: application/json`, or --json for the whole topic) are parsed
    with protobuf's JSON mapping (`google.protobuf.json_format.ParseDict`), after turning the OTLP
    spec's hex trace/span ids into the base64 that mapping expects (the one OTLP/JSON difference);
Records the worker rejects whole (undecodable, empty, bad ids, a span outside the record-time window)
are skipped whole here too, so Σ spans and Σ cost can be compared with the loadgen manifest.

  python_consumer.py --brokers HOST:PORT --topic T --group G --records N --pricing config/pricing.yaml
Prints one JSON line: spans, cost_nusd, seconds_from_assignment (assignment → last commit), join_seconds.
Needs: pip install confluent-kafka opentelemetry-proto 'psycopg[binary]' pyyaml. DATABASE_URL = the database.
"""
import argparse
import base64
import fnmatch
import json
import os
import re
import sys
import time
from datetime import datetime
from fractions import Fraction

import psycopg
import yaml
from confluent_kafka import Consumer, KafkaError
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SCHEMA = "traceledger_peer"
SERVERLESS_PLATFORMS = {"aws_lambda", "gcp_cloud_functions", "azure_functions"}
ENTRY_KINDS = {2, 5}  # SERVER, CONSUMER
MAX_AGE_NS = 35 * 86_400 * 10**9
MAX_SKEW_NS = 2 * 3_600 * 10**9
DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def from_ns(entry):
    f = entry.get("from")
    if f is None:
        return None
    return int(datetime.fromisoformat(str(f).replace("Z", "+00:00")).timestamp()) * 10**9


def effective(entries, start):
    """The entry with the latest `from` not after start (no from = always)."""
    best, best_from = None, None
    for e in entries:
        f = from_ns(e)
        if f is not None and f > start:
            continue
        key = -1 if f is None else f
        if best is None or key >= best_from:
            best, best_from = e, key
    return best


class Catalog:
    def __init__(self, path):
        raw = yaml.safe_load(open(path))
        self.excluded = set(raw.get("exclude_environments") or ["ci", "staging"])
        self.compute, self.serverless = {}, {}
        for e in raw.get("compute") or []:
            self.compute.setdefault(e["host_type"], []).append(e)
        for e in raw.get("serverless") or []:
            self.serverless.setdefault(e["platform"], []).append(e)
        self.llm = raw.get("llm") or []
        self.llm_cache = {}

    def llm_entry(self, model, start):
        tried = set()
        for e in self.llm:
            g = e["model"]
            if g in tried:
                continue
            tried.add(g)
            if not fnmatch.fnmatchcase(model, g):
                continue
            chosen = effective([x for x in self.llm if x["model"] == g], start)
            if chosen is not None:
                return chosen
        return None


def value(av):
    kind = av.WhichOneof("value")
    return None if kind is None else (kind, getattr(av, kind))


def upstream_nano(v):
    """cost.usd → nano-USD, or None when invalid (rule 1)."""
    kind, x = v
    if kind == "int_value":
        return x * 10**9 if abs(x) <= 10**9 else None
    if kind == "double_value":
        if x != x or x in (float("inf"), float("-inf")):
            return None
        text = repr(x)  # shortest round-trip form, as the worker reads it
    elif kind == "string_value":
        text = x
    else:
        return None
    if not DECIMAL.match(text):
        return None
    q = Fraction(text)
    if abs(q) > 10**9:
        return None
    return round(q * 10**9)  # Fraction rounds half to even


def price(span, attrs, res, catalog):
    """(cost nano-USD, excluded?) of one span by docs/pricing.md."""
    def get(k):
        return attrs.get(k, res.get(k))

    env = get("deployment.environment.name") or get("deployment.environment")
    if env and env[1] in catalog.excluded:
        return 0, True
    if "cost.usd" in attrs:
        n = upstream_nano(attrs["cost.usd"])
        if n is not None:
            return n, False
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    dur = end - start if end >= start else 0
    entry = len(span.parent_span_id) == 0 or span.kind in ENTRY_KINDS
    cost = Fraction(0)
    platform = get("cloud.platform")
    platform = platform[1] if platform else None
    faas = any(k.startswith("faas.") for k in attrs) or any(k.startswith("faas.") for k in res)
    if faas or platform in SERVERLESS_PLATFORMS:
        e = effective(catalog.serverless.get(platform, []), start) if platform else None
        if e is not None and entry:
            mem = get("faas.max_memory")
            mem = mem[1] if mem and mem[0] == "int_value" else 0
            cost += Fraction(e["usd_per_gb_second"]) * Fraction(mem, 2**30) * Fraction(dur, 10**9)
            cost += Fraction(e.get("usd_per_invocation", "0"))
    else:
        host = get("host.type")
        e = effective(catalog.compute.get(host[1], []), start) if host else None
        if e is not None and entry:
            region = get("cloud.region")
            per_hour = (e.get("regions") or {}).get(region[1]) if region else None
            cost += Fraction(per_hour or e["usd_per_hour"]) * Fraction(dur, 3_600 * 10**9)
    model = get("gen_ai.response.model") or get("gen_ai.request.model")
    if model:
        e = catalog.llm_entry(model[1], start)
        if e is not None:
            def tok(*keys):
                for k in keys:
                    t = get(k)
                    if t and t[0] == "int_value":
                        return t[1]
                return 0
            inp = tok("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
            out = tok("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
            read = tok("gen_ai.usage.cache_read.input_tokens")
            write = tok("gen_ai.usage.cache_creation.input_tokens")
            p_in = Fraction(e["input_usd_per_mtok"])
            p_out = Fraction(e.get("output_usd_per_mtok", e["input_usd_per_mtok"]))
            p_read = Fraction(e.get("cached_input_usd_per_mtok", e["input_usd_per_mtok"]))
            p_write = Fraction(e.get("cache_write_usd_per_mtok", e["input_usd_per_mtok"]))
            plain = max(0, inp - read - write)
            cost += (p_in * plain + p_read * read + p_write * write + p_out * out) / 10**6
    nano = round(cost * 10**9)
    return (nano if nano <= 10**18 else 0), False


JSON_IDS = ("traceId", "spanId", "parentSpanId")


def parse_json(raw, req):
    """OTLP/JSON → the message: protobuf's JSON mapping, hex ids turned into base64 first."""
    obj = json.loads(raw)
    for rs in obj.get("resourceSpans") or []:
        for ss in rs.get("scopeSpans") or []:
            for s in ss.get("spans") or []:
                for k in JSON_IDS:
                    if k in s:
                        s[k] = base64.b64encode(bytes.fromhex(s[k])).decode()
    json_format.ParseDict(obj, req, ignore_unknown_fields=True)


def is_json(msg, topic_json):
    if topic_json:
        return True
    for k, v in msg.headers() or []:
        if k.lower() == "content-type" and v and v.split(b";")[0].strip().lower() == b"application/json":
            return True
    return False


def record_deltas(msg, catalog, res_cache, topic_json=False):
    """Per-trace (cost, spans) of one record, or None when the worker would reject it whole."""
    raw = msg.value()
    if not raw:
        return None
    req = ExportTraceServiceRequest()
    try:
        if is_json(msg, topic_json):
            parse_json(raw, req)
        else:
            req.ParseFromString(raw)
    except Exception:
        return None
    ts = msg.timestamp()[1] * 10**6
    out = {}
    n = 0
    for rs in req.resource_spans:
        rkey = rs.resource.SerializeToString()
        res = res_cache.get(rkey)
        if res is None:
            res = {kv.key: value(kv.value) for kv in rs.resource.attributes}
            res_cache[rkey] = res
        for ss in rs.scope_spans:
            for span in ss.spans:
                tid, sid = span.trace_id, span.span_id
                if len(tid) != 16 or len(sid) != 8 or not any(tid) or not any(sid):
                    return None
                if not (ts - MAX_AGE_NS <= span.start_time_unix_nano <= ts + MAX_SKEW_NS):
                    return None
                attrs = {kv.key: value(kv.value) for kv in span.attributes}
                cost, excluded = price(span, attrs, res, catalog)
                d = out.setdefault(bytes(tid), [0, 0])
                d[1] += 1
                if not excluded:
                    d[0] += cost
                n += 1
    return out if n else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", default="otlp_spans")
    ap.add_argument("--group", default="peer")
    ap.add_argument("--records", type=int, required=True, help="stop once the committed offsets sum to this")
    ap.add_argument("--pricing", default="config/pricing.yaml")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", action="store_true", help="every record is OTLP/JSON (else: per content-type header)")
    a = ap.parse_args()
    catalog = Catalog(a.pricing)
    db = psycopg.connect(os.environ["DATABASE_URL"], autocommit=False)
    with db.transaction():
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        db.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.transactions (trace_id bytea PRIMARY KEY, "
                   "cost_nusd bigint NOT NULL, span_count bigint NOT NULL)")
        db.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.offsets (consumer_group text, topic text, "
                   "partition int, next_offset bigint NOT NULL, PRIMARY KEY (consumer_group, topic, partition))")
    db.execute("CREATE TEMP TABLE deltas (trace_id bytea, cost_nusd bigint, span_count bigint) ON COMMIT DELETE ROWS")
    db.commit()

    started = time.monotonic()
    state = {"assigned": None}

    def on_assign(consumer, partitions):
        rows = dict(db.execute(
            f"SELECT partition, next_offset FROM {SCHEMA}.offsets WHERE consumer_group = %s AND topic = %s",
            (a.group, a.topic)).fetchall())
        db.commit()
        for p in partitions:
            p.offset = rows.get(p.partition, -2)  # -2 = OFFSET_BEGINNING
        consumer.assign(partitions)
        if state["assigned"] is None:
            state["assigned"] = time.monotonic()

    consumer = Consumer({
        "bootstrap.servers": a.brokers, "group.id": a.group, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
    })
    consumer.subscribe([a.topic], on_assign=on_assign)
    res_cache = {}
    # Progress is by offset (Σ next offsets), so records the broker deleted before we read them (a
    # retention gap) do not keep the peer waiting; `consumed` says how many it actually read.
    positions = {}
    done = consumed = spans = cost = 0
    last_commit = None
    while done < a.records and time.monotonic() - started < a.timeout:
        msgs = consumer.consume(num_messages=a.batch, timeout=0.5)
        if not msgs:
            continue
        deltas, offsets = {}, {}
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    print(f"peer: {m.error()}", file=sys.stderr)
                continue
            offsets[m.partition()] = m.offset() + 1
            positions[m.partition()] = m.offset() + 1
            consumed += 1
            per = record_deltas(m, catalog, res_cache, a.json)
            if per is None:
                continue
            for tid, (c, n) in per.items():
                d = deltas.setdefault(tid, [0, 0])
                d[0] += c
                d[1] += n
        with db.transaction():
            with db.cursor().copy("COPY deltas (trace_id, cost_nusd, span_count) FROM STDIN") as cp:
                for tid, (c, n) in deltas.items():
                    cp.write_row((tid, c, n))
            db.execute(f"INSERT INTO {SCHEMA}.transactions AS t SELECT * FROM deltas ON CONFLICT (trace_id) "
                       "DO UPDATE SET cost_nusd = t.cost_nusd + EXCLUDED.cost_nusd, "
                       "span_count = t.span_count + EXCLUDED.span_count")
            with db.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {SCHEMA}.offsets VALUES (%s, %s, %s, %s) ON CONFLICT (consumer_group, topic, partition) "
                    "DO UPDATE SET next_offset = EXCLUDED.next_offset",
                    [(a.group, a.topic, p, o) for p, o in offsets.items()])
        db.commit()
        last_commit = time.monotonic()
        done = sum(positions.values())
        for tid, (c, n) in deltas.items():
            cost += c
            spans += n
    consumer.close()
    assigned = state["assigned"] or started
    print(json.dumps({
        "records": done, "consumed": consumed, "spans": spans, "cost_nusd": cost,
        "seconds_from_assignment": round((last_commit or time.monotonic()) - assigned, 3),
        "join_seconds": round(assigned - started, 3),
    }))
    return 0 if done >= a.records else 1


if __name__ == "__main__":
    sys.exit(main())
