"""Runtime setup shared by pretrain.py and finetune.py: device, threads, torchrun/DDP, autocast.

Launched plainly (`python3 -m train.pretrain ...`) it is one process. Launched by torchrun
(`torchrun --nproc_per_node=N -m train.pretrain ...`) the env vars RANK / WORLD_SIZE /
LOCAL_RANK are set and we join a process group: gloo on CPU, NCCL on CUDA. Gradients are then
averaged by DistributedDataParallel; every rank reads its own slice of each global batch.
"""
import contextlib
import os

import torch
import torch.distributed as dist


class Runtime:
    def __init__(self, device="auto", threads=None):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda":
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        if threads is None:
            # The cores available to this process, split between the ranks on this machine.
            try:
                cores = len(os.sched_getaffinity(0))
            except AttributeError:
                cores = os.cpu_count() or 1
            local = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
            threads = max(1, cores // max(1, local))
        torch.set_num_threads(threads)
        torch.set_flush_denormal(True)
        self.threads = threads
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend)

    @property
    def distributed(self):
        return self.world > 1

    @property
    def is_main(self):
        return self.rank == 0

    def wrap(self, model, find_unused_parameters=False):
        """DDP-wrap a module when distributed; returns the module to call for forward.
        find_unused_parameters: pretraining leaves the pooler and classifier out of the graph."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel as DDP
        if self.device.type == "cuda":
            return DDP(model, device_ids=[self.local_rank], find_unused_parameters=find_unused_parameters)
        return DDP(model, find_unused_parameters=find_unused_parameters)

    def autocast(self):
        """bf16 autocast on CUDA; plain fp32 on CPU (CPU bf16 is slow on this torch)."""
        if self.device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def all_reduce_sum(self, t):
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def barrier(self):
        if self.distributed:
            dist.barrier()

    def close(self):
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()
