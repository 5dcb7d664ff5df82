"""Writes corpus.jsonl: strings with secrets (each listed: none may survive masking) and
look-alikes (no secret: each must come out unchanged). Deterministic; run it again after
adding shapes: ``python tests/data/masking/generate.py``.

Every secret value is random text made here; none is real.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

rng = random.Random(20261206)
A = string.ascii_letters + string.digits


def r(n: int, chars: str = A) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def pw() -> str:
    return r(6) + rng.choice("!#%*+-_.~") + r(6)


def main() -> None:
    """Write corpus.jsonl beside this file."""
    entries: list[dict[str, object]] = []

    def secret(text: str, *values: str) -> None:
        entries.append({"text": text, "secrets": list(values)})

    def lookalike(text: str) -> None:
        entries.append({"text": text, "secrets": []})

    hosts = ["db-1", "pg.internal", "10.0.3.17", "mysql-primary", "redis-cache", "kafka-2"]
    for scheme in (
        "postgresql",
        "postgres",
        "mysql",
        "mariadb",
        "redis",
        "rediss",
        "amqp",
        "mongodb",
        "mongodb+srv",
        "kafka",
        "https",
        "ftp",
        "jdbc:postgresql",
    ):
        for _ in range(3):
            p = pw()
            h = rng.choice(hosts)
            user = rng.choice(["app", "root", "svc_shop", ""])
            secret(f"connecting to {scheme}://{user}:{p}@{h}:5432/shop?sslmode=require", p)
    for key in (
        "password",
        "PASSWORD",
        "db_password",
        "DB_PASSWORD",
        "MYSQL_ROOT_PASSWORD",
        "PGPASSWORD",
        "redis_password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "api_key",
        "apiKey",
        "API_KEY",
        "access_token",
        "auth_token",
        "token",
        "routing_key",
        "secret_key",
        "private_key",
        "aws_secret_access_key",
        "x-api-key",
        "sasl.password",
        "ssl.key.password",
        "spring.datasource.password",
    ):
        for fmt in ("{k}={v}", "{k}: {v}", '"{k}": "{v}"', "{k} = '{v}'", "export {k}={v}"):
            v = pw()
            secret("config " + fmt.format(k=key, v=v) + " loaded", v)
    for word in ("requirepass", "masterauth"):
        for _ in range(3):
            v = pw()
            secret(f"CONFIG SET {word} {v}", v)
    for flag in ("--password", "--token", "--api-key", "--client-secret"):
        v = pw()
        secret(f"run-tool {flag} {v} --verbose", v)
    for _ in range(4):
        v = pw()
        secret(f"mysql -uroot -p{v} -h 127.0.0.1 shop", v)
    for _ in range(12):
        v = "AKIA" + r(16, string.ascii_uppercase + string.digits)
        secret(f"aws s3 cp failed: InvalidAccessKeyId {v}", v)
        g = "ghp_" + r(36)
        secret(f"git clone https://github.com/acme/shop using {g}", g)
        o = "sk-" + r(48)
        secret(f"llm call with key {o} returned 401", o)
        op = "sk-proj-" + r(40, A + "_-")
        secret(f"OPENAI_KEY={op}", op)
    for _ in range(6):
        s = "xoxb-" + r(11, string.digits) + "-" + r(24)
        secret(f"slack webhook token {s}", s)
        st = "sk_live_" + r(24)
        secret(f"stripe charge with {st}", st)
        gk = "AIza" + r(35, A + "_-")
        secret(f"maps url ?key={gk}", gk)
    for _ in range(10):
        jwt = "eyJ" + r(20, A + "_-") + ".eyJ" + r(40, A + "_-") + "." + r(43, A + "_-")
        secret(f"Authorization: Bearer {jwt}", jwt)
        b = r(24) + "=="
        secret(f"GET /api with header Authorization: Basic {b}", b)
    for kind in ("RSA ", "EC ", "OPENSSH ", ""):
        body = "\n".join(r(64, A + "+/") for _ in range(4))
        key = f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"
        secret(f"loaded key file:\n{key}\nok", body.split("\n")[0], body.split("\n")[-1])
    for _ in range(15):
        domain = rng.choice(["example.com", "corp.example.org", "mail.co.uk"])
        e = f"{r(6, string.ascii_lowercase)}.{r(5, string.ascii_lowercase)}@{domain}"
        secret(f"password reset mail sent to {e}", e)
    for _ in range(12):
        t = r(32, A)
        secret(f"GET https://api.example.com/v1/orders?token={t}&page=2 200", t)
        s2 = r(40, A)
        secret(
            f"presigned https://bucket.s3.amazonaws.com/x.csv?X-Amz-Signature={s2}&X-Amz-Expires=60",
            s2,
        )
    for _ in range(10):
        domain = rng.choice(["example.com", "shop.test"])
        v = r(8, string.ascii_lowercase) + "@" + domain
        n = r(16, string.digits)
        secret(f"slow query: SELECT * FROM users WHERE email = '{v}' AND card = '{n}'", v, n)
    for _ in range(10):
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        secret(f"Aborted connection 42 to db: 'shop' user: 'app' host: '{ip}' (Got timeout)", ip)

    # look-alikes: must come out unchanged
    for text in [
        "Access denied for user 'root'@'localhost' (using password: YES)",
        "Access denied for user 'app'@'localhost' (using password: NO)",
        'FATAL:  password authentication failed for user "app"',
        "password authentication failed for user app",
        "WARNING: no password set, requirepass is empty",
        "password=<redacted> user=app",
        "password: ******** (hidden)",
        "db_password=${DB_PASSWORD} from the environment",
        "token bucket rate limiter refilled 40 tokens",
        "key eviction started: maxmemory reached, 1204 keys evicted",
        "redis_memory_used_bytes 1.2e9",
        "password_reset_requests_total 17",
        "secret rotation scheduled for tomorrow",
        "key=user:42 expired",
        "keyspace hits 1200 misses 30",
        "auth plugin mysql_native_password loaded",
        "author=alice committed 3 files",
        "Using the sk-learn pipeline",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 deployed",
        "request id 3b241101-e2bb-4255-8caf-4136c566a962 finished in 12 ms",
        "Bearer token missing in request",
        "Basic auth disabled",
        "version 10.11.6-MariaDB started",
        "TLS handshake with db-1.prod.example.com failed",
        "consumer group payments lag 1200 on topic orders",
        "-p is deprecated, use --password-file",
        "checkpoint complete: wrote 3142 buffers (19.2%)",
        "remaining connection slots are reserved for non-replication superuser connections",
        "sorry, too many clients already",
        "OOM command not allowed when used memory > 'maxmemory'",
        "Lock wait timeout exceeded; try restarting transaction",
        "User requested shutdown...",
        "client_secret is required but was not provided",
        "the api_key option is documented in the README",
        "passwords must be at least 12 characters",
        "ssl.key.password is not set",
        "MySQL server has gone away",
        "ERROR 1045 (28000): Access denied",
        "export PATH=/usr/local/bin:$PATH",
        "Set tokenizer=porter for the full-text index",
        "pass rate 98.2% on the last 50 runs",
        "Got an error reading communication packets",
        "GET /health 200 3 ms",
        "GET /v1/orders?page=2&sort=asc 200",
        "vm.overcommit_memory=1 is recommended",
        "maxclients 10000 reached",
        "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec",
        'node_filesystem_avail_bytes{mountpoint="/"} 1.2e10',
        "The signature of method foo changed",
    ]:
        lookalike(text)
    for _ in range(60):
        n = rng.randint(1, 99999)
        lookalike(
            rng.choice(
                [
                    f"Slow query took {n} ms on table orders",
                    f"replication lag {n} s on replica-2",
                    f"evicted_keys {n}",
                    f"Connection {n} closed by client",
                    f"worker-{n % 17} processed {n} messages",
                    f"checkout p99 latency {n / 100:.2f} s",
                    f"pg_stat_activity: {n % 200} idle in transaction",
                    f"DELETE FROM sessions WHERE expires_at < now() removed {n} rows",
                    f"Heap usage {n % 100}% of 4 GB",
                    f"sha256 {r(64, '0123456789abcdef')} verified",
                ]
            )
        )

    out = Path(__file__).with_name("corpus.jsonl")
    out.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    print(
        f"{len(entries)} strings: {sum(bool(e['secrets']) for e in entries)} with secrets, "
        f"{sum(not e['secrets'] for e in entries)} look-alikes -> {out}"
    )


if __name__ == "__main__":
    main()
