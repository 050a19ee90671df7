#!/usr/bin/env python3
"""The SQLite FTS5 peer of the query benchmark.

Indexes the same generated articles (`bantin corpus` JSON lines on stdin) in an FTS5 table
(unicode61, remove_diacritics 2), then runs the same search mix (the `--query-mix` file) one query
at a time: MATCH, ORDER BY bm25 (title weighted 3), LIMIT 10. Prints one JSON object: build time,
latency percentiles and queries per second on one core (pin it with taskset).
"""
import json
import sqlite3
import sys
import time


def fts5_query(text):
    """Our syntax to FTS5's: quoted phrases stay phrases, bare words are quoted (AND by default)."""
    parts, rest = [], text.strip()
    while rest:
        if rest.startswith('"'):
            end = rest.find('"', 1)
            end = len(rest) if end < 0 else end
            parts.append('"%s"' % rest[1:end].replace('"', ""))
            rest = rest[end + 1:].strip()
        else:
            word, _, rest = rest.partition(" ")
            parts.append('"%s"' % word.replace('"', ""))
            rest = rest.strip()
    return " ".join(parts)


def main():
    queries_path, db_path = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("DROP TABLE IF EXISTS articles")
    db.execute("CREATE VIRTUAL TABLE articles USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')")
    began = time.perf_counter()
    count, size = 0, 0
    batch = []
    for line in sys.stdin:
        article = json.loads(line)
        batch.append((article["title"], article["text"]))
        count += 1
        size += len(article["text"].encode())
        if len(batch) == 1000:
            db.executemany("INSERT INTO articles(title, body) VALUES (?, ?)", batch)
            batch.clear()
    db.executemany("INSERT INTO articles(title, body) VALUES (?, ?)", batch)
    db.commit()
    build = time.perf_counter() - began

    queries = [fts5_query(json.loads(l)["query"]) for l in open(queries_path, encoding="utf-8") if l.strip()]
    statement = "SELECT rowid FROM articles WHERE articles MATCH ? ORDER BY bm25(articles, 3.0, 1.0) LIMIT 10"
    for q in queries[:50]:  # warm the page cache
        db.execute(statement, (q,)).fetchall()
    latencies, hits = [], 0
    began = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        hits += len(db.execute(statement, (q,)).fetchall())
        latencies.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - began
    latencies.sort()
    pick = lambda p: round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 3)
    print(json.dumps({
        "articles": count, "text_mb": round(size / 1048576, 1), "build_s": round(build, 1),
        "build_mb_per_s": round(size / 1048576 / build, 2), "queries": len(queries), "hits": hits,
        "p50_ms": pick(50), "p90_ms": pick(90), "p99_ms": pick(99), "max_ms": round(latencies[-1], 3),
        "queries_per_s": round(len(queries) / total, 1),
    }))


if __name__ == "__main__":
    main()
