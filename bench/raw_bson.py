"""PyMongo's raw BSON, tried for the lead reads: documents decoded to dicts, against `RawBSONDocument`s, each then
made a lead record (`lead_record_of`), as every lead read does.

    .venv/bin/python bench/raw_bson.py [--documents 49] [--number 200]

In process, no server: the reply's documents are encoded once, then decoded both ways (best of 5 repeats). Two
shapes: the cross-store query's projection (four fields) and a whole lead document.

Measured 2026-11-30: raw BSON costs 2.0x (projected) and 2.5x (whole) the time of plain dicts, so the store keeps
dicts. A `RawBSONDocument` defers decoding to the first field read, then decodes the whole document into a
dict of its own: a reader that turns every document into a record pays that and the laziness on top, and the
decoding it defers is small to begin with (23 us of the 424 us that 49 projected leads take here; the record
is the rest). Raw BSON pays where documents pass through unread, which no lead read does.
"""

from __future__ import annotations

import argparse
import timeit
from datetime import UTC, datetime
from typing import Any

import bson
from bson import ObjectId
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from stack import ROOT  # noqa: F401 - puts the checkout on sys.path

from datasources.mongo.leads import lead_record_of

RAW = CodecOptions(document_class=RawBSONDocument)


def projected(i: int) -> dict[str, Any]:
    return {"_id": ObjectId(), "first_name": "Ann", "last_name": f"Lee{i}", "status": "new", "owner_id": "12"}


def whole(i: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "_id": ObjectId(), "account_id": 1, "first_name": "Ann", "last_name": f"Lee{i}", "email": "ann@example.com",
        "phone": "+15551234567", "company": {"name": "Acme", "title": "CTO", "industry": "logistics", "size": "11-50",
                                             "website": "https://acme.example"},
        "source": "web", "status": "new", "priority": "high", "score": 50,
        "qualification": {"budget": "yes", "need": "routing", "answers": {"budget": "yes"}}, "tags": ["fleet"],
        "notes": [], "consent": {"call": True}, "do_not_call": False, "timezone": "UTC", "owner_id": "12",
        "created_at": now, "updated_at": now,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=49, help="documents in one reply (49: the cross-store page)")
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args()

    def best(run: Any) -> float:
        return min(timeit.repeat(run, number=args.number, repeat=5)) / args.number * 1e6

    for name, make in (("projected (4 fields)", projected), ("whole lead", whole)):
        reply = b"".join(bson.encode(make(i)) for i in range(args.documents))
        as_dicts = best(lambda reply=reply: [lead_record_of(d) for d in bson.decode_all(reply)])
        as_raw = best(lambda reply=reply: [lead_record_of(d) for d in bson.decode_all(reply, RAW)])
        decode = best(lambda reply=reply: bson.decode_all(reply))
        print(f"{name}: {args.documents} documents to records: dicts {as_dicts:.0f} us, RawBSONDocument "
              f"{as_raw:.0f} us ({as_raw / as_dicts:.2f}x); decoding alone {decode:.0f} us")


if __name__ == "__main__":
    main()
