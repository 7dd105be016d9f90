"""The text modality plug-in: the character vocabulary and token windows of the train documents, held-out
prompts continued and free text drawn, every family scored (evaluation.text_scores), the report's
continuations and BLEU signature, and the text metric self-test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from genai_platform.datasets.datasets_file import SourceOption, Sources
from genai_platform.datasets.text_sources import (DEFAULT_TEXT_DISTRIBUTION, DEFAULT_TEXT_SOURCE, RawDocuments,
                                                   load_documents)
from genai_platform.evaluation.generation import continuation_prompts, free_documents, text_samples
from genai_platform.evaluation.marks import (bits_per_character_cost, false_positive_row, text_detection_rows,
                                             text_p_values, text_pieces)
from genai_platform.evaluation.profiles import EvaluationProfile
from genai_platform.evaluation.results import Evaluation, compare_families
from genai_platform.evaluation.self_test_panel import Panel, text_panel
from genai_platform.evaluation.text_scores import (FREE_SAMPLE_CHARS, SWEEP_BLEU, SWEEP_TEMPERATURES, TextDetails,
                                                   TextUnits, bias_rows, compare_text, document_nats,
                                                   evaluate_text_family, unigram_baseline_rows)
from genai_platform.files import write_atomic
from genai_platform.marking.credentials import SampleCredentials, sidecar_json, sidecar_path
from genai_platform.marking.key import WatermarkKey
from genai_platform.marking.text_mark import GreenList
from genai_platform.metrics.bleu import tokenize
from genai_platform.metrics.catalog import TRAINING_DATA, UNSEEN_TEXT
from genai_platform.metrics.detectability import FOLDS as DETECTABILITY_FOLDS
from genai_platform.metrics.detectability import char_bigram_features, detectability_auc
from genai_platform.records import MetricRow
from genai_platform.modalities.base import (Contest, EvaluationContext, Modality, PanelSettings, SelfTest, TrainingData,
                                            contest_sample_runs)
from genai_platform.models.base import TextGenerator
from genai_platform.models.vocab import UNKNOWN, CharVocabulary
from genai_platform.reporting.modality_parts import (CardTexts, FamilyTexts, Figure, ModalityParts, ModalityReport,
                                                     Signatures, TEXT_EXAMPLES, TextSample)
from genai_platform.reporting.plots import quality_diversity
from genai_platform.store.preprocessing import SqlPreprocessing
from genai_platform.store.tables import (dataset_info, drop_text_sample_sets, read_char_vocabulary, read_documents,
                                         read_sentences, read_text_samples, store_text_samples, write_raw_documents)
from genai_platform.training.batches import BatchSampler, token_windows


def mark_bias(key: WatermarkKey, vocab: CharVocabulary) -> GreenList:
    """The green list over `vocab` (the unknown character never steered to, and no context holding it steered).
    The document break stays steerable: never green, it would end samples about half as often at DELTA 1.5."""
    return GreenList(key, vocab.characters, frozenset({vocab.index[UNKNOWN]}))


def mark_rows(family: str, model, vocab: CharVocabulary, inputs: TextEvaluationInputs,
              context: EvaluationContext) -> list[MetricRow]:
    """The watermark's detection rates on `family`'s stored samples: the free samples clean and with words deleted
    or replaced by held-out words, the continuations clean; and its cost in bits per character: the free samples
    against the same draws unmarked (the same seed)."""
    samples = inputs.samples[family]
    free = [s["text"] for s in samples if s["kind"] == "free"]
    continuations = [s["text"] for s in samples if s["kind"] == "continuation"]
    replacement_words = " ".join(inputs.test_documents).split()
    rows = text_detection_rows(family, free, continuations, replacement_words, context.watermark_key, context.seed)
    unmarked = free_documents(model, vocab, len(free), context.profile.free_sample_chars, 1.0,
                              torch.Generator().manual_seed(context.seed))
    if (cost := bits_per_character_cost(model, vocab, free, unmarked)) is not None:
        rows.append(MetricRow.of(family, "mark_bpc_cost", cost))
    return rows


@dataclass(frozen=True)
class TextGalleryInputs:
    continuations: dict[str, list[TextSample]]  # family -> its first TEXT_EXAMPLES continuations of held-out prompts
    free: dict[str, list[str]]  # family -> its first TEXT_EXAMPLES free samples
    bleu_signatures: dict[str, str]
    sweeps: dict[str, list[dict]]  # family -> {temperature, bleu, self_bleu} per sampling temperature


@dataclass(frozen=True)
class TextReport(ModalityReport):
    sweep_bleu: int  # the BLEU order of the quality-diversity sweep
    sweep_temperatures: tuple[float, ...]

    card = CardTexts(
        limitations="A small character-level model writes locally plausible but often ungrammatical text; BLEU "
        "against a single reference understates valid continuations.",
        trade_offs="Quality against diversity: lower sampling temperature raises BLEU and Self-BLEU together (the "
        "quality-diversity plot in the comparison report); the reported samples use temperature 1.",
        memorization_measured="verbatim training 8-grams, words inside training 4-grams beyond held-out text's "
        "share (text stitched from training phrases) and extraction of training continuations",
        misinformation="generated news-like text can read as factual; it is not.",
        discrimination="the model can reproduce or amplify the gender skew of its training text; see the "
        "representation, association, amplification and sentiment-gap figures.",
        judged_nightly="amplification")
    preprocessing = ("Unicode NFC, whitespace collapsed, empty and duplicate documents removed, split 80/10/10 by "
                     "document hash (genai_platform/store/sql/text_corpus.sql).")
    bundled_distributions = {DEFAULT_TEXT_SOURCE: DEFAULT_TEXT_DISTRIBUTION}

    def read(self, con, details: dict, families: list[str]) -> TextGalleryInputs:
        continuations, free = {}, {}
        for family in families:
            samples = read_text_samples(con, family)
            continuations[family] = [TextSample(s["prompt"], s["reference"], s["text"])
                                     for s in samples if s["kind"] == "continuation"][:TEXT_EXAMPLES]
            free[family] = [s["text"] for s in samples if s["kind"] == "free"][:TEXT_EXAMPLES]
        kept = TextDetails.from_dict(details)
        return TextGalleryInputs(continuations, free, kept.bleu_signatures, kept.quality_diversity)

    def build(self, inputs: TextGalleryInputs, titles: dict[str, str]) -> ModalityParts:
        figures, temperatures = [], self.sweep_temperatures
        if inputs.sweeps:
            figures = [Figure(
                quality_diversity(inputs.sweeps, self.sweep_bleu),
                f"BLEU-{self.sweep_bleu} against the test set plotted against Self-BLEU-{self.sweep_bleu} for each "
                f"text family at sampling temperatures {temperatures[0]} to {temperatures[-1]}",
                f"Quality-diversity sweep: free samples at temperatures {', '.join(map(str, temperatures))} (up and "
                f"to the left is better).")]
        return ModalityParts(
            signatures=Signatures("sacrebleu signature", inputs.bleu_signatures) if inputs.bleu_signatures else None,
            figures=figures,
            texts=[FamilyTexts(titles[f], inputs.continuations[f], inputs.free[f]) for f in inputs.continuations])


@dataclass
class TextEvaluationInputs:
    train_documents: list[str]
    test_documents: list[str]
    test_sentences: list[list[str]]  # word tokens of each held-out sentence: the BLEU references
    vocabulary: CharVocabulary
    samples: dict[str, list[dict]]  # family -> its challenger's continuation and free samples
    earlier: dict[str, dict[str, list[dict]]]  # family -> {earlier version (champion, best): its samples}


class TextSelfTest(SelfTest):
    def read(self, con) -> tuple[list[str], list[str]]:
        return read_documents(con, "train"), read_documents(con, "val") + read_documents(con, "test")

    def run(self, data: tuple[list[str], list[str]], settings: PanelSettings) -> Panel:
        return text_panel(*data, settings.seed, settings.watermark_key)


class TextModality(Modality):
    name = "text"
    sources = Sources(
        "GENAI_TEXT_SOURCE", DEFAULT_TEXT_SOURCE, "'gensim:lee', a .txt (blank-line separated documents), .jsonl or "
        ".csv file",
        (SourceOption("text_field", "text", "GENAI_TEXT_FIELD", "JSONL field or CSV column holding the text"),))
    raw_asset = "raw_text"
    data_asset = "text_corpus"
    preprocessing = SqlPreprocessing("text_corpus", "text_checks", "raw_documents", {
        "non_empty": "train and test splits both have rows",
        "no_train_test_overlap": "no content hash is in both train and test",
        "vocabulary_size": "the train character vocabulary has 2-5000 entries and words exist",
        "enough_test_sentences": "the test split has sentences to draw prompts from",
    })
    leaderboard_metrics = ("bits_per_character", "continuation_bleu", "bleu_4", "self_bleu_4", "distinct_2")
    gate_metrics = ("bits_per_character", "continuation_bleu")  # likelihood of held-out text, and what it writes
    report = TextReport(SWEEP_BLEU, SWEEP_TEMPERATURES)
    generator_type = TextGenerator
    self_test = TextSelfTest()
    sample_suffix = ".txt"

    def load_raw(self, source: str, options: Mapping[str, str], allowed: tuple[Path, ...]) -> RawDocuments:
        return load_documents(source, options["text_field"], allowed)

    def write_raw(self, con, raw: RawDocuments) -> None:
        write_raw_documents(con, raw)

    def raw_summary(self, raw: RawDocuments) -> tuple[str, dict]:
        return f"ingested {raw.provenance.rows} documents", {"characters": sum(len(t) for t in raw.texts)}

    def load_training_data(self, con) -> TrainingData:
        vocab = CharVocabulary(read_char_vocabulary(con))
        return TrainingData({"vocabulary": vocab.characters}, vocab.encode_documents(read_documents(con, "train")),
                            dataset_info(con, self.name)["data_version"])

    def batches(self, data: torch.Tensor, model_config) -> BatchSampler:
        return token_windows(data, model_config.context_length)

    def examples_per_step(self, batch_size: int, model_config: dict) -> tuple[int, str]:
        return batch_size * model_config["context_length"], "tokens/s"

    def read_sampling_inputs(self, con) -> list[str]:
        return read_sentences(con, "test")

    def draw_samples(self, model, manifest: dict, test_sentences: list[str], profile: EvaluationProfile,
                     seed: int, key: WatermarkKey) -> list[dict]:
        vocab = CharVocabulary(manifest["data"]["vocabulary"])
        return text_samples(model, vocab, continuation_prompts(test_sentences, profile.prompts), profile.free_samples,
                            profile.free_sample_chars, seed, mark_bias(key, vocab))

    def store_samples(self, con, family: str, run_id: str, version: str, fingerprint: str,
                      samples: list[dict]) -> None:
        store_text_samples(con, family, run_id, version, fingerprint, samples)

    def drop_sample_sets(self, con, family: str, runs: list[str]) -> None:
        drop_text_sample_sets(con, family, runs)

    def write_samples(self, model, manifest: dict, count: int, seed: int, path: Path, key: WatermarkKey,
                      credentials: SampleCredentials) -> list[Path]:
        """The samples under `--- sample N` headings (the detector reads them apart), the credentials beside
        them in <file>.json."""
        vocab = CharVocabulary(manifest["data"]["vocabulary"])
        documents = free_documents(model, vocab, count, FREE_SAMPLE_CHARS, 1.0, torch.Generator().manual_seed(seed),
                                   mark_bias(key, vocab))
        return [write_atomic(path, "".join(f"--- sample {i + 1}\n{text}\n" for i, text in enumerate(documents))),
                write_atomic(sidecar_path(path), sidecar_json(credentials, count))]

    def read_evaluation_inputs(self, con, contests: dict[str, Contest]) -> TextEvaluationInputs:
        runs = {family: contest_sample_runs(con, self.name, family, contest) for family, contest in contests.items()}
        return TextEvaluationInputs(
            read_documents(con, "train"), read_documents(con, "test"),
            [tokens for tokens in map(tokenize, read_sentences(con, "test")) if tokens],
            CharVocabulary(read_char_vocabulary(con)),
            {family: read_text_samples(con, family, challenger) for family, (challenger, _) in runs.items()},
            {family: {version: read_text_samples(con, family, run) for version, run in drawn.items()}
             for family, (_, drawn) in runs.items()})

    def evaluate(self, inputs: TextEvaluationInputs, context: EvaluationContext) -> Evaluation:
        rows = bias_rows(TRAINING_DATA, inputs.train_documents)
        rows += unigram_baseline_rows(inputs.vocabulary, inputs.train_documents, inputs.test_documents)
        held_out = text_pieces(inputs.test_documents, context.profile.free_sample_chars)
        rows.append(false_positive_row(UNSEEN_TEXT, text_p_values(held_out, context.watermark_key)))
        held_out_features, bigrams = char_bigram_features(held_out)
        details = TextDetails()
        units = {}
        for family in context.families:
            context.log(f"evaluating {family}")
            model, manifest = context.load_model(family, context.contests[family].challenger)
            vocab = CharVocabulary(manifest["data"]["vocabulary"])
            family_rows, family_details, units[family] = evaluate_text_family(
                family, model, vocab, inputs.test_documents, inputs.train_documents, inputs.test_sentences,
                inputs.samples[family], context.profile, context.seed)
            rows += family_rows + mark_rows(family, model, vocab, inputs, context)
            free = [s["text"] for s in inputs.samples[family] if s["kind"] == "free"]
            if min(len(free), len(held_out)) >= 2 * DETECTABILITY_FOLDS:
                rows.append(MetricRow.of(family, "detectability_auc", detectability_auc(
                    char_bigram_features(free, bigrams)[0], held_out_features, context.seed)))
            else:
                context.log(f"{family}: {len(free)} free samples and {len(held_out)} held-out pieces, too few for "
                            f"the detectability AUC ({2 * DETECTABILITY_FOLDS} a side)")
            details.bleu_signatures[family] = family_details["bleu_signature"]
            details.sentiment_prompts[family] = family_details["sentiment_prompts"]
            details.quality_diversity[family] = family_details["quality_diversity"]
        earlier = {}
        for family, sets in inputs.earlier.items():
            for version, samples in sets.items():  # earlier versions' models are kept: their likelihood too
                if (loaded := context.load_earlier(family, version)) is None:
                    continue
                model, manifest = loaded
                nats, characters = document_nats(model, CharVocabulary(manifest["data"]["vocabulary"]),
                                                 inputs.test_documents)
                earlier.setdefault(family, {})[version] = TextUnits.of(samples, inputs.test_sentences, nats, characters)
        comparisons = compare_families(partial(compare_text, seed=context.seed), units, earlier, context.log)
        return Evaluation(rows, details, comparisons)


TEXT = TextModality()
