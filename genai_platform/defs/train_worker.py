"""One process of a distributed training: `torchrun ... -m genai_platform.defs.train_worker SPEC.json`.

train_<family> writes the spec (family, configs, the training data as safetensors, checkpoint, output
folder, manifest) and starts torchrun through Dagster Pipes (defs/torchrun.py). Every rank trains
with the one loop; rank 0 reports progress to Dagster through Pipes and keeps the trained model.
Without Dagster (a test, or by hand) rank 0 prints its progress instead.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path

import torch
from dagster_pipes import PipesEnvVarParamsLoader, open_dagster_pipes
from safetensors.torch import load_file
from torch.distributed.elastic.multiprocessing.errors import record

from genai_platform.modalities.base import TrainingData
from genai_platform.families.registry import family_named, train_family
from genai_platform.files import artifact_path
from genai_platform.training.distributed import is_writer, process_group
from genai_platform.training.fit import save_trained
from genai_platform.training.loop import TrainingConfig


@record  # a failing process's traceback reaches torchrun's summary, which names the rank
def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    torch.set_num_threads(spec["threads"])
    with process_group(spec["device"]) as device:
        writer = is_writer()
        reporting = writer and PipesEnvVarParamsLoader().is_dagster_pipes_process()
        with open_dagster_pipes() if reporting else nullcontext() as pipes:
            log = pipes.log.info if reporting else print if writer else (lambda _message: None)
            trained = family_named(spec["family"])
            data = TrainingData(spec["data"]["description"], load_file(spec["data"]["tensor"])["data"],
                                spec["data"]["version"])
            training_config = TrainingConfig(**spec["training_config"])
            log(f"rank 0 of {training_config.processes} processes on {device}")
            model, result = train_family(trained, trained.config_type(**spec["model_config"]), training_config, data,
                                         device, artifact_path(spec["checkpoint"]), spec["fingerprint"], log)
            if writer:
                save_trained(model, artifact_path(spec["out_dir"]), spec["manifest"], result)
                log(f"kept the trained model in {spec['out_dir']}")


if __name__ == "__main__":
    main(sys.argv[1])
