"""Concurrent clients of POST /predict for the load benchmarks (httpx, asyncio), in one process or
spread over several.

Each client has its own connection and sends request bodies encoded beforehand, so that the
clients cost the machine as little as they can. One process's event loop still tops out at one
CPU: on a machine with many cores, that, not the server, was the limit of the HTTP floor (16
cores, one client process at 1.00 CPU), hence `processes`.
"""

import asyncio
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import httpx
import numpy as np

Bodies = list[tuple[bytes, str]]  # (body, content type) of each request
WARM_UP_SECONDS = 1.0  # every client's first second is not counted
START_MARGIN_SECONDS = 3.0  # for client processes to start before they begin together


@dataclass
class _ProcessRun:
    latencies: list[float]
    failures: int
    seconds: float
    cpu_seconds: float


def run_clients(
    url: str,
    bodies: Bodies,
    per_request: int,
    concurrency: int,
    seconds: float,
    processes: int = 1,
) -> dict:
    """`concurrency` clients posting `bodies` in turn for `seconds` after a warm-up, spread over
    `processes` processes: requests/s, images/s (`per_request` images each), p50/p99 latency,
    failures and the CPUs the clients used."""
    if processes <= 1:
        runs = [asyncio.run(_run_process_clients(url, bodies, concurrency, seconds, 0))]
    else:
        shares = [
            concurrency // processes + (k < concurrency % processes) for k in range(processes)
        ]
        shares = [share for share in shares if share]
        start_at = time.time() + START_MARGIN_SECONDS
        # Spawned, not forked: the benchmark's process holds TensorFlow's threads.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(shares), mp_context=context) as pool:
            futures = [
                pool.submit(_process_main, url, bodies, share, seconds, start_at, sum(shares[:k]))
                for k, share in enumerate(shares)
            ]
            runs = [future.result() for future in futures]
    return _summary(runs, per_request)


def _process_main(
    url: str, bodies: Bodies, concurrency: int, seconds: float, start_at: float, first: int
) -> _ProcessRun:
    time.sleep(max(0.0, start_at - time.time()))
    return asyncio.run(_run_process_clients(url, bodies, concurrency, seconds, first))


async def _run_process_clients(
    url: str, bodies: Bodies, concurrency: int, seconds: float, first: int
) -> _ProcessRun:
    """This process's clients, numbered from `first` (each starts at a different body)."""
    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + WARM_UP_SECONDS
    # One client and connection each, as independent callers have: 32 connections in one
    # httpx pool collapsed to a third of the throughput with p99 over a second.
    clients = [
        httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1))
        for _ in range(concurrency)
    ]

    async def one_client(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal failures
        i = offset
        while time.perf_counter() < stop:
            body, content_type = bodies[i % len(bodies)]
            started = time.perf_counter()
            response = await client.post(
                "/predict", content=body, headers={"content-type": content_type}
            )
            latencies.append(time.perf_counter() - started)
            failures += response.status_code != 200
            i += 1

    await asyncio.gather(*(one_client(client, 0) for client in clients))
    latencies.clear()
    failures = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    stop = started + seconds
    await asyncio.gather(*(one_client(client, (first + k) * 7) for k, client in enumerate(clients)))
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    for client in clients:
        await client.aclose()
    return _ProcessRun(latencies, failures, elapsed, cpu_seconds)


def _summary(runs: list[_ProcessRun], per_request: int) -> dict:
    latencies = [latency for run in runs for latency in run.latencies]
    requests_per_second = sum(len(run.latencies) / run.seconds for run in runs)
    return {
        "requests_per_second": requests_per_second,
        "images_per_second": requests_per_second * per_request,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * float(np.percentile(latencies, 99)),
        "failures": sum(run.failures for run in runs),
        "client_cpus": sum(run.cpu_seconds / run.seconds for run in runs),
    }
