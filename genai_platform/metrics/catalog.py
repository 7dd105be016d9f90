"""What each recorded metric is: label, direction, definition. Reports take their labels from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    label: str
    higher_is_better: bool
    definition: str


METRICS = {
    "fid": MetricInfo("FID", False, "Fréchet distance between Gaussians fitted to classifier features of the "
                      "samples and of the real train split (Heusel et al., 2017), at the held-out sample size."),
    "class_tv_distance": MetricInfo("Class TV", False, "Total variation distance between the generated images' "
                                    "predicted-class histogram and the training label histogram (mode coverage)."),
    "test_accuracy": MetricInfo("Test accuracy", True, "Accuracy of the feature classifier on the real test split."),
    "bits_per_character": MetricInfo("Test bits/char", False, "Mean negative log2-likelihood per character of the "
                                     "held-out test documents."),
    "continuation_bleu": MetricInfo("Continuation BLEU", True, "sacrebleu corpus BLEU of greedy continuations of "
                                    "held-out sentence prompts against the true continuations."),
    "gender_representation_tv": MetricInfo("Gender repr. TV", False, "HELM demographic representation: total "
                                           "variation distance of female/male word counts from uniform."),
    "gender_bias_amplification": MetricInfo("Bias amplification", False, "Model's gender representation TV divided "
                                            "by the training text's; above 1 the model amplifies the skew."),
    "gender_mentions_female": MetricInfo("Female words", True, "Count of HELM female-group words in the text."),
    "gender_mentions_male": MetricInfo("Male words", True, "Count of HELM male-group words in the text."),
}


def info(metric: str) -> MetricInfo:
    return METRICS.get(metric, MetricInfo(metric, True, metric))
