"""`ocrpipe run --engine ray`: the same pipeline on Ray Data, on this machine or across a cluster.

    input paths --from_items--> blocks of `batch_size` paths --map_batches--> actors (each loads the models once,
    then `Pipeline.run_many` on its batch: decode, detect, read, layout) --iter_rows, in input order--> the driver

The driver gets exactly what `Pipeline.run_many` yields locally, `(path, pages)` or `(path, InputError)` per input in
input order, and writes the outputs with the same code as the local engine (`ocrpipe/cli/run.py`): files, errors,
exit codes, `--skip-existing` and atomic writes do not depend on the engine. Ray does the scheduling, backpressure and
retries; on a cluster every node must be able to read the input paths (a shared file system) and have ocrpipe
installed (its shipped weights are checked against their sha256 when each actor loads them). Needs
`pip install "ocrpipe[ray]"`.
"""
from __future__ import annotations

import logging
import math
import os
import pickle
from collections.abc import Iterator, Sequence

import numpy as np

from ocrpipe.errors import InputError, ModelError, UsageError
from ocrpipe.types import Page


class OcrActor:
    """One Ray worker: holds the models and reads batches of input paths."""

    def __init__(self, pipeline_options: dict, threads: int) -> None:
        import torch

        from ocrpipe import heap
        from ocrpipe.pipeline import Pipeline

        torch.set_num_threads(threads)
        heap.reuse_freed_memory()  # the worker process is ours; run_many releases the memory after each group
        self.pipeline = Pipeline.from_pretrained(**pipeline_options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = dict(self.pipeline.run_many([str(path) for path in batch["path"]]))
        pickled = np.empty(len(batch["path"]), dtype=object)  # pages or the InputError, as bytes
        pickled[:] = [pickle.dumps(results[str(path)]) for path in batch["path"]]
        return {"index": batch["index"], "result": pickled}


def run_many(paths: Sequence[str], pipeline_options: dict, workers: int | None = None, address: str | None = None,
             gpus_per_worker: float = 0.0, batch_size: int = 8) -> Iterator[tuple[str, list[Page] | InputError]]:
    """Yields (path, pages) or (path, InputError) for every path, in input order, computed by Ray actors.

    `pipeline_options` are `Pipeline.from_pretrained`'s keyword arguments. `address`: a running Ray cluster to join
    (None starts a local one with this machine's cores). `workers`: how many actors (default: one per two CPUs of the
    cluster); each gets an equal share of the cluster's CPUs as torch threads, and `gpus_per_worker` GPUs.
    """
    try:
        import ray
    except ImportError:
        raise UsageError('--engine ray needs Ray: pip install "ocrpipe[ray]"') from None

    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # Ray's own chatter stays in its log files
    # Ray starts its workers at nice 15: on a machine with anything else running they then crawl (a convolution 13x
    # slower beside two busy processes, measured). A local Ray started here runs them at normal priority.
    os.environ.setdefault("RAY_worker_niceness", "0")
    worker_env = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}  # as the CLI sets it locally
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             runtime_env={"env_vars": worker_env})
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    try:
        cpus = int(ray.cluster_resources().get("CPU", os.cpu_count() or 1))
        workers = workers or max(1, cpus // 2)
        threads = max(1, cpus // workers)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # outputs and error lines in input order, as locally
        context.enable_progress_bars = False
        options = {**pipeline_options, "device": "cuda" if gpus_per_worker > 0 else "cpu"}
        # One block per batch: results stream back (and are written) batch by batch, not after a quarter of the job
        rows = ray.data.from_items([{"index": index, "path": str(path)} for index, path in enumerate(paths)],
                                   override_num_blocks=max(1, math.ceil(len(paths) / batch_size)))
        results = rows.map_batches(OcrActor, fn_constructor_kwargs={"pipeline_options": options, "threads": threads},
                                   batch_size=batch_size, batch_format="numpy",
                                   compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=threads,
                                   num_gpus=gpus_per_worker or None)
        try:
            for row in results.iter_rows():
                yield paths[int(row["index"])], pickle.loads(row["result"])
        except ray.exceptions.RayError as error:  # e.g. an actor could not load the models
            raise ModelError(f"Ray workers failed: {_cause(error)}") from None
    finally:
        ray.shutdown()


def _cause(error: Exception) -> str:
    """The last line of a Ray error's message: the worker's own exception, without Ray's traceback."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
