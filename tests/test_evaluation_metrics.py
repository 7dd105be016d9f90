"""Issue 4's metrics against independent references (nltk, scipy, brute-force loops, hand counts,
documented examples) and against hostile input."""

import math
import random

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from genai_platform.evaluation.generation import (CONTINUATION_WORDS, PROMPT_WORDS, continuation_prompts, first_sentence,
                                                 split_sentences)
from genai_platform.metrics.bias import (amplification, bias_counts, bias_scores, demographic_representation,
                                         gap_prompts, gender_word_lists, group_counts_to_bias, helm_tokenize,
                                         sentiment, stereotypical_association)
from genai_platform.metrics.bleu import bleu_against_corpus, bleu_scores, self_bleu, self_bleu_scores, tokenize
from genai_platform.metrics.catalog import CATEGORIES, METRICS, info
from genai_platform.metrics.distributions import low_confidence, missing_modes, normalized_entropy
from genai_platform.metrics.fid import fid_estimate, kid_estimate, polynomial_kernel, unbiased_mmd2
from genai_platform.metrics.intervals import difference_estimate, mean_estimate, ratio_estimate
from genai_platform.metrics.language import distinct_n
from genai_platform.metrics.manifold import RealManifold
from genai_platform.metrics.memorization import (copy_rate, extraction_rate, nearest_training_neighbours,
                                                 training_ngram_overlap)

SMOOTH = SmoothingFunction().method1


def _random_sentences(rng, count, vocabulary="a b c d e f g h i".split(), longest=14):
    return [[rng.choice(vocabulary) for _ in range(rng.randint(0, longest))] for _ in range(count)]


# ---- BLEU (Texygen protocol) against nltk's sentence_bleu loop

@pytest.mark.parametrize("max_n", [1, 2, 3, 4, 5])
def test_texygen_bleu_equals_nltk_sentence_bleu(max_n):
    rng = random.Random(max_n)
    hypotheses, references = _random_sentences(rng, 80), _random_sentences(rng, 50)
    references[0] = []  # an empty reference and empty hypotheses are legal inputs to nltk too
    weights = (1 / max_n,) * max_n
    expected = [sentence_bleu(references, h, weights, smoothing_function=SMOOTH) for h in hypotheses]
    assert np.max(np.abs(bleu_scores(hypotheses, references, max_n) - expected)) < 1e-9
    assert bleu_against_corpus(hypotheses, references, max_n) == pytest.approx(np.mean(expected), abs=1e-9)


@pytest.mark.parametrize("max_n", [2, 3, 4, 5])
def test_self_bleu_equals_nltk_loop_over_the_others(max_n):
    rng = random.Random(10 + max_n)
    sentences = _random_sentences(rng, 70) + [["a", "b", "c"]] * 3  # exact duplicates: each matches the others
    weights = (1 / max_n,) * max_n
    expected = [sentence_bleu(sentences[:i] + sentences[i + 1:], s, weights, smoothing_function=SMOOTH)
                for i, s in enumerate(sentences)]
    assert np.max(np.abs(self_bleu_scores(sentences, max_n) - expected)) < 1e-9
    assert self_bleu(sentences, max_n) == pytest.approx(np.mean(expected), abs=1e-9)


def test_self_bleu_separates_repetitive_from_diverse_text():
    same = [tokenize("the cat sat on the mat today")] * 10
    rng = random.Random(3)
    varied = _random_sentences(rng, 10, vocabulary=[f"w{i}" for i in range(500)], longest=8)
    assert self_bleu(same, 4) == pytest.approx(1.0)
    assert self_bleu(varied, 4) < 0.2


def test_bleu_hostile_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="hypothesis list is empty"):
        bleu_scores([], [["a"]], 4)
    with pytest.raises(ValueError, match="reference list is empty"):
        bleu_scores([["a"]], [], 4)
    with pytest.raises(ValueError, match="at least 2 sentences"):
        self_bleu_scores([["only", "one"]], 4)
    with pytest.raises(ValueError, match="max_n"):
        bleu_scores([["a"]], [["a"]], 0)


def test_tokenize_needs_no_downloaded_data():
    assert tokenize("Don't panic, she said.") == ["don't", "panic", ",", "she", "said", "."]


# ---- KID, FID interval

def test_unbiased_mmd2_equals_a_double_loop():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.5, 1, size=(9, 3))
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(a, b) for a in x for b in y) / (7 * 9)
    assert unbiased_mmd2(x, y) == pytest.approx(xx + yy - 2 * xy, abs=1e-9)
    assert polynomial_kernel(x, y).shape == (7, 9)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same = kid_estimate(a, b)
    assert abs(same.value) < 0.01 and same.ci_low <= 0 <= same.ci_high
    shifted = kid_estimate(a + 1.0, b)
    assert shifted.value > 0.5 and shifted.ci_low > 0
    with pytest.raises(ValueError, match="at least 4"):
        kid_estimate(a[:3], b)


def test_fid_estimate_interval_brackets_the_value_and_rejects_bad_input():
    rng = np.random.default_rng(2)
    reference, samples = rng.normal(size=(800, 4)), rng.normal(0.3, 1, size=(300, 4))
    estimate = fid_estimate(samples, reference, seed=0)
    # n >= 5 d: FID-infinity, the jackknife's 1/n-extrapolated value, inside its own t interval
    assert estimate.count == 300 and estimate.ci_low < estimate.value < estimate.ci_high
    constant = np.ones((50, 4))
    assert fid_estimate(constant, constant, seed=0).value == pytest.approx(0.0, abs=1e-9)
    bad = samples.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fid_estimate(bad, reference, seed=0)
    with pytest.raises(ValueError, match="N >= 1|N >= 2"):
        fid_estimate(samples[:0], reference, seed=0)
    with pytest.raises(ValueError, match="N >= 2"):
        fid_estimate(samples[:1], reference, seed=0)


# ---- precision / recall / density / coverage

def _prdc_reference(real, fake, k_pr, k_dc):
    """Brute force with scipy's cdist, written from the papers' definitions."""
    rr, ff, rf = (scipy.spatial.distance.cdist(a, b) for a, b in ((real, real), (fake, fake), (real, fake)))
    real_r_pr, real_r_dc = np.sort(rr, axis=1)[:, k_pr], np.sort(rr, axis=1)[:, k_dc]
    fake_r = np.sort(ff, axis=1)[:, k_pr]
    precision = np.mean([any(rf[i, j] < real_r_pr[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(rf[i, j] < fake_r[j] for j in range(len(fake))) for i in range(len(real))])
    density = np.sum(rf < real_r_dc[:, None]) / (k_dc * len(fake))
    coverage = np.mean(rf.min(axis=1) < real_r_dc)
    return precision, recall, density, coverage


def test_manifold_metrics_equal_the_brute_force_definition():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(120, 5)), rng.normal(0.4, 1.2, size=(90, 5))
    got = RealManifold(real).metrics(fake)
    expected = _prdc_reference(real, fake, 3, 5)
    for name, value in zip(("precision", "recall", "density", "coverage"), expected):
        assert got[name].value == pytest.approx(value, abs=1e-12), name
        assert got[name].ci_low <= got[name].value <= got[name].ci_high


def test_manifold_same_distribution_anchors():
    """Naeem et al.: for one distribution, density ~ 1 and coverage ~ 1 - 2^-k (k=5: 0.969)."""
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(3000, 8)), rng.normal(size=(3000, 8))
    got = RealManifold(real).metrics(fake)
    assert got["density"].value == pytest.approx(1.0, abs=0.08)
    assert got["coverage"].value == pytest.approx(1 - 2 ** -5, abs=0.02)
    assert got["precision"].value > 0.8 and got["recall"].value > 0.8
    far = RealManifold(real).metrics(fake + 100.0)
    assert far["precision"].value == far["recall"].value == far["coverage"].value == far["density"].value == 0.0


def test_manifold_rejects_mismatched_and_tiny_sets():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="more than k"):
        RealManifold(rng.normal(size=(4, 2)))
    with pytest.raises(ValueError, match="widths differ"):
        RealManifold(rng.normal(size=(20, 2))).metrics(rng.normal(size=(20, 3)))


# ---- representation bias of images

def test_class_distribution_metrics_hand_computed():
    assert normalized_entropy([5, 5, 5, 5]) == pytest.approx(1.0)
    assert normalized_entropy([1, 0, 0]) == pytest.approx(0.0)
    counts = np.array([3, 1, 0, 4])
    assert normalized_entropy(counts) == pytest.approx(scipy.stats.entropy(counts) / math.log(4), abs=1e-12)
    assert missing_modes([10, 10, 1, 0], [1, 1, 1, 0]) == [2]  # class 3 absent from training: not missing
    probabilities = np.array([[0.9, 0.1], [0.45, 0.55], [0.3, 0.7], [0.49, 0.51]])
    assert low_confidence(np.array([[0.4, 0.3, 0.3], [0.6, 0.2, 0.2]])).tolist() == [1.0, 0.0]
    assert low_confidence(probabilities).tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="finite"):
        low_confidence(np.array([[np.nan, 1.0]]))


# ---- memorization

def test_nearest_neighbours_match_brute_force_and_catch_copies():
    rng = np.random.default_rng(6)
    train = rng.random((200, 1, 8, 8))
    samples = np.concatenate([train[:5] + rng.normal(0, 1e-3, size=train[:5].shape), rng.random((45, 1, 8, 8))])
    nn = nearest_training_neighbours(samples, train)
    d = scipy.spatial.distance.cdist(samples.reshape(50, -1), train.reshape(200, -1))
    order = np.sort(d, axis=1)
    np.testing.assert_allclose(nn.d1, order[:, 0], atol=1e-9)
    np.testing.assert_allclose(nn.d2, order[:, 1], atol=1e-9)
    assert nn.nearest[:5].tolist() == [0, 1, 2, 3, 4]
    rate = copy_rate(nn)
    assert rate.value == pytest.approx(5 / 50) and rate.count == 50
    constant = np.full((3, 1, 8, 8), 0.5)  # constant images are legal; one copy of a constant training image
    assert copy_rate(nearest_training_neighbours(constant, np.concatenate([constant[:1], train]))).value == 1.0
    with pytest.raises(ValueError, match="NaN"):
        nearest_training_neighbours(np.full((2, 4), np.nan), train.reshape(200, -1)[:, :4])
    with pytest.raises(ValueError, match="at least one sample"):
        nearest_training_neighbours(np.zeros((0, 4)), train.reshape(200, -1)[:, :4])


def test_text_memorization_hand_counts():
    train = [tokenize("one two three four five six seven eight nine ten")]
    generated = [tokenize("one two three four five six seven eight nine"),  # 2 of 2 8-grams seen
                 tokenize("zero one two three four five six seven eight"),  # 1 of 2
                 tokenize("too short")]  # no 8-gram: does not count
    overlap = training_ngram_overlap(generated, train)
    assert overlap.value == pytest.approx(3 / 4) and overlap.count == 4
    assert training_ngram_overlap([tokenize("short")], train) is None
    assert extraction_rate(["abcdef", "abx", "ab"], ["abc", "abc", "abc"]).value == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="one continuation per target"):
        extraction_rate([], [])


# ---- text diversity and bias

def test_distinct_n_hand_computed():
    assert distinct_n([["a", "b", "a", "b"], ["a", "b"]], 2) == pytest.approx(2 / 4)  # ab, ba, ab | ab -> {ab, ba}
    assert distinct_n([["a", "b", "c"]], 1) == 1.0
    assert distinct_n([["a"]], 2) is None


def test_stereotypical_association_follows_helm():
    groups = gender_word_lists().groups
    texts = ["She is a nurse. Her sister is a nurse.",  # nurse x2, female words 3 -> nurse: female 6
             "He is a nurse.",  # nurse x1, male 1 -> nurse: male 1
             "He is an engineer and a doctor. His doctor."]  # doctor x2, male 2 -> doctor: male 4
    result = stereotypical_association(texts, groups, ("nurse", "doctor", "pilot"))
    nurse = 0.5 * (abs(6 / 7 - 0.5) + abs(1 / 7 - 0.5))
    assert result.value == pytest.approx((nurse + 0.5) / 2) and result.targets_seen == 2
    assert stereotypical_association(["no words here"], groups, ("nurse",)).value is None
    # per-group normalisation by list length (HELM step 1)
    assert group_counts_to_bias({"a": 2, "b": 1}, {"a": frozenset("xy"), "b": frozenset("z")}) == 0.0


# HELM's own numbers: src/helm/benchmark/metrics/test_bias_metrics.py (gender cases) and issue 12's
# "He's a nurse and she's a doctor." (0.0 in HELM: word_tokenize splits "he's" into "he", "'s").
HELM_REPRESENTATION = [(["wOman was happy"], 1 / 2), (["  hE was happy"], 1 / 2), (["Her daughter was happy"], 1 / 2),
                       (["Their daughters and sons were happy"], 0.0), ([""], None),
                       (["He's a nurse and she's a doctor."], 0.0)]
HELM_PROFESSION = [(["she was a curious student", "he was a student", "he was a student"], 1 / 6),
                   (["He's a nurse and she's a doctor."], 0.0)]


def test_bias_scores_equal_helms_numbers():
    lists = gender_word_lists()
    for texts, expected in HELM_REPRESENTATION:
        assert demographic_representation(texts, lists.groups).tv_from_uniform == pytest.approx(expected), texts
        assert bias_scores(bias_counts(texts, lists))["representation"] == pytest.approx(
            np.nan if expected is None else expected, nan_ok=True), texts
    for texts, expected in HELM_PROFESSION:
        assert stereotypical_association(texts, lists.groups, lists.targets["profession"]).value == pytest.approx(expected)
        assert bias_scores(bias_counts(texts, lists))["profession"] == pytest.approx(expected), texts
    # contractions and possessives are counted, as HELM counts them
    assert demographic_representation(["He's here.", "The woman's son."], lists.groups).counts == {"female": 1, "male": 2}


TOKENIZER_CASES = ["He's a nurse and she's a doctor.", "The woman's son didn't say \"hello\" (or 'bye')!",
                   "Her brother's wife--a teacher--can't come; she'll call.", "It cost $3.50, isn't it? 'Tis 10:30 o'clock.",
                   "The boys' mothers, like the nurses' aunts, weren't there..."]


def test_helm_tokenize_is_nltk_word_tokenize_without_downloaded_data():
    """One sentence each: word_tokenize's Punkt step (which needs downloaded data) keeps it whole,
    so preserve_line=True gives exactly HELM's tokens."""
    from nltk.tokenize import word_tokenize

    for text in TOKENIZER_CASES:
        assert list(helm_tokenize(text)) == word_tokenize(text.lower(), preserve_line=True), text
    assert helm_tokenize("He left. She's here.") == ("he", "left", ".", "she", "'s", "here", ".")
    # the one difference from trained Punkt: no learnt abbreviations, so "p.m." ends a sentence
    # ("p.m", "." instead of "p.m."); no word of the lists is an abbreviation, so no count changes
    assert helm_tokenize("At 5 p.m. his son came.")[2:5] == ("p.m", ".", "his")


def _gender_swapped(text: str, swap: dict[str, str]) -> str:
    import re

    return re.sub(r"\b\w+\b", lambda m: swap.get(m.group(0).lower(), m.group(0)), text)


def test_amplification_is_about_one_like_for_like_and_catches_a_skewed_model():
    from genai_platform.datasets.text_sources import load_documents

    lee = load_documents("gensim:lee").texts[:150]
    lists = gender_word_lists()
    to_male = dict(zip(*(sorted(lists.groups[g]) for g in ("female", "male"))))
    to_male.update({"her": "his", "hers": "his", "herself": "himself", "she": "he"})
    to_female = {"he": "she", "his": "her", "him": "her", "himself": "herself", "man": "woman", "men": "women"}
    balanced = lee + [_gender_swapped(d, to_female) for d in lee]  # training text with both genders alike
    manly = [_gender_swapped(d[:300], to_male) for d in lee[:50]]  # a model that turns every woman into a man
    skewed = amplification(manly, balanced, lists, seed=0)["representation"]
    assert skewed.count == 50 and skewed.ci_low >= 1.5 and skewed.ci_low <= skewed.value <= skewed.ci_high
    faithful = amplification([d[:300] for d in balanced[::6]], balanced, lists, seed=0)["representation"]
    assert faithful.ci_low <= 1.0 <= faithful.ci_high
    one = amplification(["He is a nurse, he said to his son."], balanced, lists, seed=0)
    assert all(e.ci_low is None and e.count == 1 for e in one.values())  # one sample: no interval


# ---- one sentence rule for references (SQL) and samples (Python)

TRICKY = ("Dr. Smith arrived at 5 p.m. on Jan. 3rd!!! Did she?! \"Yes.\" he said... The end?  no punctuation "
          "here\nnew line. 3.14 is pi. Wait!?... ok")


def test_sentences_are_cut_alike_by_the_store_sql_and_python():
    import duckdb

    from genai_platform.datasets.provenance import Provenance
    from genai_platform.datasets.text_sources import RawDocuments
    from genai_platform.store.sql import sql
    from genai_platform.store.tables import write_raw_documents

    con = duckdb.connect()
    texts = [TRICKY, "No end at all", "...leading dots. Then words", "Ünïcødé? Ja! Ñ.", "?!"]
    write_raw_documents(con, RawDocuments(texts, ["t"] * len(texts), Provenance(source="test", description="")))
    con.execute(sql("text_corpus", "stage"))
    documents = dict(con.execute("SELECT doc_id, text FROM documents_staging").fetchall())
    rows = con.execute("SELECT doc_id, sentence FROM sentences_staging ORDER BY doc_id, sentence_index").fetchall()
    for doc_id, text in documents.items():
        assert split_sentences(text) == [s for d, s in rows if d == doc_id], text
    assert split_sentences(TRICKY)[:3] == ["Dr.", "Smith arrived at 5 p.", "m."]
    assert first_sentence("Did she?! Yes.") == "Did she?!" and first_sentence("...") == ""
    assert first_sentence("no end\nat all") == "no end"  # nothing after the document break


def test_vader_documented_examples_and_gap_prompts():
    """vaderSentiment's README: 'VADER is smart, handsome, and funny.' has compound 0.8316."""
    scores = sentiment(["VADER is smart, handsome, and funny.", "VADER is not smart, handsome, nor funny."])
    assert scores[0] == pytest.approx(0.8316, abs=1e-4) and scores[1] < 0
    prompts = gap_prompts()
    assert len(prompts) == 20 and ("occupation", "The woman", "The woman worked as ") in prompts


# ---- intervals

def test_mean_interval_is_students_t_and_a_share_gets_wilsons():
    rng = np.random.default_rng(7)
    values = rng.exponential(size=400)
    mine = mean_estimate(values)
    theirs = scipy.stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert mine.value == pytest.approx(values.mean())
    assert mine.ci_low == pytest.approx(theirs.low) and mine.ci_high == pytest.approx(theirs.high)
    flags = mean_estimate(np.zeros(50, dtype=bool))  # all zero: [0, > 0], not [0, 0]
    assert flags.value == 0 and flags.ci_low == 0 and 0.05 < flags.ci_high < 0.09
    wilson = scipy.stats.binomtest(7, 40).proportion_ci(0.95, method="wilson")
    seven = mean_estimate(np.arange(40) < 7)
    assert seven.ci_low == pytest.approx(wilson.low) and seven.ci_high == pytest.approx(wilson.high)
    for n in (180, 348, 2000):  # all successes: the upper bound is exactly 1, the share (rounding left it below)
        assert mean_estimate(np.ones(n, dtype=bool)).ci_high == 1.0
    assert mean_estimate([0.5]).ci_low is None  # one sample: no interval, not a fake one
    with pytest.raises(ValueError, match="non-empty"):
        mean_estimate([])
    with pytest.raises(ValueError, match="NaN"):
        mean_estimate([1.0, np.nan])


def test_ratio_and_difference_estimates():
    ratio = ratio_estimate([1, 2, 3], [2, 2, 2])
    assert ratio.value == pytest.approx(1.0) and ratio.count == 6 and ratio.ci_low <= 1.0 <= ratio.ci_high
    diff = difference_estimate([1.0, 1.0, 1.0], [0.0, 0.5, 0.0])
    assert diff.value == pytest.approx(1 - 0.5 / 3) and diff.ci_low <= diff.value <= diff.ci_high
    with pytest.raises(ValueError):
        difference_estimate([], [1.0])


# ---- registry

def test_every_metric_has_direction_definition_and_reference():
    for name, entry in METRICS.items():
        assert entry.direction in {"higher", "lower", "zero", "one", "none"}, name
        assert entry.label and len(entry.definition) > 20 and entry.reference, name
        assert entry.category in CATEGORIES, name
    assert info("fid").better(1.0, 2.0) and info("precision").better(0.9, 0.1)
    assert info("sentiment_gap_occupation").better(-0.1, 0.2)
    assert info("density").better(0.95, 1.2) and info("density").better(1.1, 4.6)  # closer to 1 is better
    with pytest.raises(KeyError, match="no entry"):
        info("not_a_metric")


def test_continuation_prompts_cut_a_sentence_without_an_end_to_a_bounded_reference():
    words = [f"w{i}" for i in range(1000)]  # an unpunctuated corpus: the whole article is one "sentence"
    (prompt, reference), = continuation_prompts([" ".join(words), "too short to prompt ."], 10)
    assert prompt == "w0 w1 w2 w3 " and reference.split(" ") == words[PROMPT_WORDS:PROMPT_WORDS + CONTINUATION_WORDS]
    assert continuation_prompts(["one two three four five six seven eight."], 10) == [
        ("one two three four ", "five six seven eight.")]
