"""What the channel gateway costs on top of Rasa, measured side by side.

The same conversation turns go through the gateway (the web chat endpoint:
store the message, take the conversation's turn, Rasa, store the replies) and
straight to Rasa's REST channel, interleaved in one run so both see the same
machine, model and action server. Prints p50/p95 per path and their ratio, at
each concurrency level.

Needs the assistant running (`make run` in another terminal), then:

    .venv/bin/python scripts/bench_gateway.py [--turns 400] [--concurrency 1 8]
"""

import argparse
import asyncio
import statistics
import time
import uuid

import httpx

# A claim that stops before a case is opened, so nothing is written to the
# CRM but the lookups both paths share.
TURNS = (
    "hola",
    "la lavadora no centrifuga",
    "wm 4821 7730",
    "cancelar",
)


async def through_gateway(client: httpx.AsyncClient, services: str) -> list[float]:
    opened = await client.post(f"{services}/channels/web/conversations")
    opened.raise_for_status()
    conversation_id = opened.json()["conversation_id"]
    timings = []
    for text in TURNS:
        started = time.perf_counter()
        answer = await client.post(
            f"{services}/channels/web/messages",
            json={
                "conversation_id": conversation_id,
                "message_id": uuid.uuid4().hex,
                "text": text,
            },
        )
        timings.append(time.perf_counter() - started)
        answer.raise_for_status()
    return timings


async def straight_to_rasa(client: httpx.AsyncClient, rasa: str) -> list[float]:
    sender = f"bench-{uuid.uuid4().hex}"
    timings = []
    for text in TURNS:
        started = time.perf_counter()
        answer = await client.post(
            f"{rasa}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": {"channel": "web"}},
        )
        timings.append(time.perf_counter() - started)
        answer.raise_for_status()
    return timings


async def worker(
    client: httpx.AsyncClient,
    services: str,
    rasa: str,
    rounds: int,
    results: dict[str, list[float]],
    index: int,
) -> None:
    for round_number in range(rounds):
        # Alternate which path goes first, so neither always runs warmer.
        paths = [
            ("gateway", through_gateway(client, services)),
            ("rasa", straight_to_rasa(client, rasa)),
        ]
        if (round_number + index) % 2:
            paths.reverse()
        for name, conversation in paths:
            results[name].extend(await conversation)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(services: str, rasa: str, turns: int, concurrency: int) -> None:
    # Enough conversations for a p95 that is more than its few slowest turns.
    rounds = max(1, -(-turns // (len(TURNS) * concurrency)))
    results: dict[str, list[float]] = {"gateway": [], "rasa": []}
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # Warm both paths (model caches, connection pools) before measuring.
        await through_gateway(client, services)
        await straight_to_rasa(client, rasa)
        started = time.perf_counter()
        await asyncio.gather(
            *(
                worker(client, services, rasa, rounds, results, index)
                for index in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - started
    gateway, direct = results["gateway"], results["rasa"]
    print(
        f"concurrency {concurrency}: {len(gateway)} turns per path in {elapsed:.1f} s"
    )
    for name, values in (("gateway", gateway), ("rasa   ", direct)):
        print(
            f"  {name}  p50 {percentile(values, 0.5) * 1000:7.1f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms   "
            f"mean {statistics.fmean(values) * 1000:7.1f} ms"
        )
    print(
        f"  ratio    p50 {percentile(gateway, 0.5) / percentile(direct, 0.5):.2f}"
        f"        p95 {percentile(gateway, 0.95) / percentile(direct, 0.95):.2f}"
        "   (gateway / rasa; target p95 <= 1.20)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services-url", default="http://127.0.0.1:8000")
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    parser.add_argument(
        "--turns", type=int, default=400, help="turns per path at each concurrency"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    for concurrency in args.concurrency:
        asyncio.run(run(args.services_url, args.rasa_url, args.turns, concurrency))


if __name__ == "__main__":
    main()
